/** The `ctscope` command tree (commander); the bin shell lives in cli.ts. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { runAnalyze } from './commands/analyze.js';
import { runAnalyzeRecording } from './commands/analyze-recording.js';
import { runExport } from './commands/export.js';
import { registerFleetCommand } from './commands/fleet.js';
import { runReplay } from './commands/replay.js';
import { onShutdown, runServe } from './commands/serve.js';
import {
  CTSCOPE_VERSION,
  DEFAULT_WEB_ROOT,
  defaultServeConfig,
  SERVE_MINIMUMS as MIN,
  REPLAY_DEFAULTS,
  type ServeConfig,
} from './config.js';
import { registerLabCommand } from './lab/lab-command.js';

const stdio = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) };

function int(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer ${min}-${max}`);
    return n;
  };
}

function opt(flags: string, description: string, env: string, parse?: (v: string) => unknown): Option {
  const o = new Option(flags, description).env(env);
  return parse ? o.argParser(parse) : o;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `--allowed-host NAME`, repeatable; `CTSCOPE_ALLOWED_HOSTS` takes a comma-separated list. */
function hostsOpt(description: string): Option {
  return new Option('--allowed-host <name>', description)
    .env('CTSCOPE_ALLOWED_HOSTS')
    .argParser(collect)
    .default([]);
}

/** Build the program; `exit` receives the exit code so tests can run it in-process. */
export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command('ctscope')
    .description('Real-time conntrack incident dashboard: find UDP flows stuck on stale or missing NAT.')
    .version(CTSCOPE_VERSION)
    .exitOverride()
    .showHelpAfterError();

  program
    .command('analyze')
    .description('Classify captured conntrack flows against captured NAT rules (offline, for post-mortems).')
    .option(
      '--nat <file>',
      'iptables-save, nft -j or ipvsadm -Ln output; repeat, oldest first (last = current)',
      collect,
      [],
    )
    .option(
      '--list <file>',
      'conntrack -L output; repeat, oldest first; "--" lines split dumps in one file',
      collect,
      [],
    )
    .option('--events <file>', 'conntrack -E output (any -o format)')
    .option('--json', 'print NDJSON, one flow per line')
    .option('--list-interval <seconds>', 'seconds between dumps (default: estimated from the dumps)')
    .option('--unanswered-after <seconds>', 'UNREPLIED age that makes a healthy flow "unanswered"', '10')
    .option('--include-destroyed', 'also show flows whose DESTROY was seen')
    .option('--skip-bad-lines', 'report unparseable lines but carry on instead of exiting 2')
    .option(
      '--recording <dir>',
      'answer from a ctscope recording (directory of segments, or one file) instead',
    )
    .option('--at <time>', 'with --recording: flows bad at this instant, and NAT changes around it')
    .option('--from <time>', 'with --recording: start of a window (bad flows during it, worst first)')
    .option('--to <time>', 'with --recording: end of the window')
    .option(
      '--tuple <SRC:SPORT->DST:DPORT>',
      "with --recording: one tuple's whole lifecycle (any part may be left out)",
    )
    .option('--nat-window <seconds>', 'with --at: list NAT changes this close to it (default 60)')
    .addHelpText(
      'after',
      '\nExit status: 0 no critical flow, 1 at least one critical flow, 2 usage or input error.\n' +
        'Times: ISO 8601 (2026-11-01T00:05:00Z) or ms since the epoch.\n' +
        '\nExamples:\n  ctscope analyze --nat nat-before.txt --nat nat-after.txt --list list-poll.txt\n' +
        '  ctscope analyze --recording /var/lib/ctscope --at 2026-11-01T00:05:00Z\n' +
        '  ctscope analyze --recording /var/lib/ctscope --from 2026-11-01T00:00:00Z --to 2026-11-01T06:00:00Z --json\n',
    )
    .action(async (opts) => {
      const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) };
      if (opts.recording !== undefined) return exit(await runAnalyzeRecording(opts, io));
      exit(await runAnalyze(opts, io));
    });

  program
    .command('export')
    .description('Write a self-contained, compressed, replayable slice of a recording (for a ticket).')
    .requiredOption('--recording <dir>', 'recording directory of segments, or one file')
    .requiredOption('--from <time>', 'slice start (ISO 8601 or ms since the epoch)')
    .requiredOption('--to <time>', 'slice end')
    .requiredOption(
      '-o, --output <file>',
      'output file (gzip NDJSON; open it with ctscope replay or drop it on the page)',
    )
    .action(async (opts) => {
      exit(await runExport(opts, stdio, program.version() ?? 'unknown'));
    });

  const d = defaultServeConfig();
  program
    .command('serve')
    .description(
      'Watch this node (or a network namespace) live and serve the dashboard, REST API and WebSocket.',
    )
    .addOption(
      opt('--host <addr>', `listen address (default ${d.host}; anything else needs --token)`, 'CTSCOPE_HOST'),
    )
    .addOption(opt('--port <n>', `listen port (default ${d.port})`, 'CTSCOPE_PORT', int('--port', 0, 65535)))
    .addOption(
      opt(
        '--netns <name>',
        'run every node command inside this network namespace (ip netns exec)',
        'CTSCOPE_NETNS',
      ),
    )
    .addOption(opt('--data-dir <dir>', `recordings and audit log (default ${d.dataDir})`, 'CTSCOPE_DATA_DIR'))
    .addOption(
      opt(
        '--token <token>',
        'bearer token required by the API, /ws and /metrics (>= 12 chars)',
        'CTSCOPE_TOKEN',
      ),
    )
    .addOption(opt('--allow-delete', 'enable DELETE /api/flows/:id (needs --token)', 'CTSCOPE_ALLOW_DELETE'))
    .addOption(
      hostsOpt('host names the page may be reached by without a token, besides loopback (repeatable)'),
    )
    .addOption(
      opt('--nat-source <mode>', 'auto | iptables | nft | ipvs (default auto)', 'CTSCOPE_NAT_SOURCE').choices(
        ['auto', 'iptables', 'nft', 'ipvs'],
      ),
    )
    .addOption(
      opt(
        '--suspect-poll <ms>',
        `re-read suspect entries every ms (default ${d.suspectPollMs})`,
        'CTSCOPE_SUSPECT_POLL_MS',
        int('--suspect-poll', MIN.suspectPollMs),
      ),
    )
    .addOption(
      opt(
        '--nat-poll <ms>',
        `NAT snapshot every ms (default ${d.natPollMs})`,
        'CTSCOPE_NAT_POLL_MS',
        int('--nat-poll', MIN.natPollMs),
      ),
    )
    .addOption(
      opt(
        '--counters-poll <ms>',
        `conntrack counters (/proc stat file, else conntrack -S/-C) every ms (default ${d.countersPollMs})`,
        'CTSCOPE_COUNTERS_POLL_MS',
        int('--counters-poll', MIN.countersPollMs),
      ),
    )
    .addOption(
      opt(
        '--full-resync <ms>',
        `minimum ms between periodic full dumps; adapts upward to 100x the dump time (default ${d.fullResyncMs})`,
        'CTSCOPE_FULL_RESYNC_MS',
        int('--full-resync', MIN.fullResyncMs),
      ),
    )
    .addOption(
      opt(
        '--buffer-bytes <n>',
        `netlink receive buffer for conntrack -E -b (default ${d.bufferBytes})`,
        'CTSCOPE_BUFFER_BYTES',
        int('--buffer-bytes', MIN.bufferBytes),
      ),
    )
    .addOption(opt('--no-record', 'do not record to --data-dir', 'CTSCOPE_NO_RECORD'))
    .addOption(
      opt('--no-record-gzip', 'write plain .ndjson segments instead of gzip', 'CTSCOPE_NO_RECORD_GZIP'),
    )
    .addOption(
      opt(
        '--retention-hours <h>',
        `delete recordings older than this (default ${d.retentionHours})`,
        'CTSCOPE_RETENTION_HOURS',
        int('--retention-hours', MIN.retentionHours),
      ),
    )
    .addOption(
      opt(
        '--retention-bytes <n>',
        `keep recordings under this many bytes (default ${d.retentionBytes})`,
        'CTSCOPE_RETENTION_BYTES',
        int('--retention-bytes', MIN.retentionBytes),
      ),
    )
    .addOption(
      opt(
        '--max-flows <n>',
        `memory cap on tracked flows (default ${d.maxFlows})`,
        'CTSCOPE_MAX_FLOWS',
        int('--max-flows', MIN.maxFlows),
      ),
    )
    .addOption(opt('--node-name <name>', 'name shown in the UI (default: hostname)', 'CTSCOPE_NODE_NAME'))
    .addOption(opt('--web-root <dir>', 'built web page to serve at /', 'CTSCOPE_WEB_ROOT'))
    .addOption(opt('--skip-preflight', 'start without the preflight checks', 'CTSCOPE_SKIP_PREFLIGHT'))
    .addOption(
      opt(
        '--auto-remedy',
        'delete confirmed stuck entries (no-dnat/stale-endpoint, kept alive) by itself; needs --allow-delete',
        'CTSCOPE_AUTO_REMEDY',
      ),
    )
    .addOption(
      opt(
        '--auto-remedy-dry-run',
        'auto-remedy without deleting: audit and mark every would-be delete',
        'CTSCOPE_AUTO_REMEDY_DRY_RUN',
      ),
    )
    .addOption(
      opt(
        '--auto-remedy-settle <ms>',
        `NAT snapshot unchanged this long before acting (default 2 x --nat-poll)`,
        'CTSCOPE_AUTO_REMEDY_SETTLE_MS',
        int('--auto-remedy-settle', 0),
      ),
    )
    .addOption(
      opt(
        '--auto-remedy-node-rate <n>',
        `deletes per minute on the node (default ${d.autoRemedy.nodePerMinute})`,
        'CTSCOPE_AUTO_REMEDY_NODE_RATE',
        int('--auto-remedy-node-rate', 1),
      ),
    )
    .addOption(
      opt(
        '--auto-remedy-service-rate <n>',
        `deletes per minute per service (default ${d.autoRemedy.servicePerMinute})`,
        'CTSCOPE_AUTO_REMEDY_SERVICE_RATE',
        int('--auto-remedy-service-rate', 1),
      ),
    )
    .addOption(
      opt(
        '--auto-remedy-breaker <n>',
        `stop deleting a tuple that came back stuck n times within the window (default ${d.autoRemedy.breakerThreshold})`,
        'CTSCOPE_AUTO_REMEDY_BREAKER',
        int('--auto-remedy-breaker', 1),
      ),
    )
    .addOption(
      opt(
        '--auto-remedy-breaker-window <ms>',
        `breaker window (default ${d.autoRemedy.breakerWindowMs})`,
        'CTSCOPE_AUTO_REMEDY_BREAKER_WINDOW_MS',
        int('--auto-remedy-breaker-window', 1000),
      ),
    )
    .action(async (o) => {
      const config: ServeConfig = {
        ...d,
        host: o.host ?? d.host,
        port: o.port ?? d.port,
        netns: o.netns,
        dataDir: o.dataDir ?? d.dataDir,
        token: o.token,
        allowDelete: Boolean(o.allowDelete),
        natSource: o.natSource ?? d.natSource,
        suspectPollMs: o.suspectPoll ?? d.suspectPollMs,
        natPollMs: o.natPoll ?? d.natPollMs,
        countersPollMs: o.countersPoll ?? d.countersPollMs,
        fullResyncMs: o.fullResync ?? d.fullResyncMs,
        bufferBytes: o.bufferBytes ?? d.bufferBytes,
        record: o.record !== false,
        recordGzip: o.recordGzip !== false,
        retentionHours: o.retentionHours ?? d.retentionHours,
        retentionBytes: o.retentionBytes ?? d.retentionBytes,
        maxFlows: o.maxFlows ?? d.maxFlows,
        nodeName: o.nodeName ?? d.nodeName,
        webRoot: o.webRoot ?? d.webRoot,
        autoRemedy: {
          ...d.autoRemedy,
          mode: o.autoRemedyDryRun ? 'dry-run' : o.autoRemedy ? 'on' : 'off',
          settleMs: o.autoRemedySettle,
          nodePerMinute: o.autoRemedyNodeRate ?? d.autoRemedy.nodePerMinute,
          servicePerMinute: o.autoRemedyServiceRate ?? d.autoRemedy.servicePerMinute,
          breakerThreshold: o.autoRemedyBreaker ?? d.autoRemedy.breakerThreshold,
          breakerWindowMs: o.autoRemedyBreakerWindow ?? d.autoRemedy.breakerWindowMs,
        },
        allowedHosts: splitHosts(o.allowedHost),
      };
      const r = await runServe(config, stdio, { skipPreflight: Boolean(o.skipPreflight) });
      if (typeof r === 'number') return exit(r);
      onShutdown(r.stop);
    });

  program
    .command('replay')
    .description('Serve the dashboard and API from a recording (a segment file or a --data-dir directory).')
    .argument('<path>', 'recording file or directory')
    .addOption(opt('--host <addr>', `listen address (default ${REPLAY_DEFAULTS.host})`, 'CTSCOPE_HOST'))
    .addOption(
      opt(
        '--port <n>',
        `listen port (default ${REPLAY_DEFAULTS.port})`,
        'CTSCOPE_PORT',
        int('--port', 0, 65535),
      ),
    )
    .addOption(opt('--token <token>', 'bearer token (>= 12 chars)', 'CTSCOPE_TOKEN'))
    .addOption(hostsOpt('host names accepted without a token, besides loopback (repeatable)'))
    .addOption(opt('--web-root <dir>', 'built web page to serve at /', 'CTSCOPE_WEB_ROOT'))
    .option('--play', 'start playing from the beginning (default: paused at the end)')
    .action(async (path: string, o) => {
      const r = await runReplay(
        {
          path,
          host: o.host ?? REPLAY_DEFAULTS.host,
          port: o.port ?? REPLAY_DEFAULTS.port,
          token: o.token,
          webRoot: o.webRoot ?? d.webRoot,
          allowedHosts: splitHosts(o.allowedHost),
          play: o.play,
        },
        stdio,
      );
      if (typeof r === 'number') return exit(r);
      onShutdown(r.stop);
    });

  registerLabCommand(program, exit);
  registerFleetCommand(program, exit, DEFAULT_WEB_ROOT);

  return program;
}

/** `--allowed-host a --allowed-host b`, or `CTSCOPE_ALLOWED_HOSTS=a,b`. */
function splitHosts(v: string[] | string | undefined): string[] {
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return list
    .flatMap((h) => h.split(','))
    .map((h) => h.trim())
    .filter((h) => h.length > 0);
}
