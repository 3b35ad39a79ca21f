/** `ctscope lab …`: commander wiring for the lab (see docs/lab.md). */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { NodeCommandError } from '../node/node-command.js';
import { captureLab } from './capture-lab.js';
import { joinHostPort } from './kube-proxy-rules.js';
import { labReplaceEndpoint, labRestart } from './lab-faults.js';
import { type LabContext, LabError, type LabStatus, labDown, labStatus, labUp } from './lab-lifecycle.js';
import { LabPreflightError } from './lab-preflight.js';
import { DEFAULT_LAB_NAME, DEFAULT_STATE_DIR, type LabState } from './lab-state.js';
import { clientEndpoints, labNameProblem, labNamespaces } from './lab-topology.js';

type Exit = (code: number) => void;

function number(name: string, min: number, max: number, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'} ${min}-${max}`);
    }
    return n;
  };
}

function labName(v: string): string {
  const problem = labNameProblem(v);
  if (problem) throw new InvalidArgumentError(problem);
  return v;
}

function withCommon(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--name <name>', 'lab name; namespaces are <name>-node, <name>-dns-a, …')
        .default(DEFAULT_LAB_NAME)
        .env('CTSCOPE_LAB_NAME')
        .argParser(labName),
    )
    .addOption(
      new Option('--state-dir <dir>', 'where the state file and per-lab logs live')
        .default(DEFAULT_STATE_DIR)
        .env('CTSCOPE_LAB_DIR'),
    )
    .option('--json', 'print the result as one JSON object');
}

interface CommonOpts {
  name: string;
  stateDir: string;
  json?: boolean;
}

function context(o: CommonOpts): LabContext {
  return {
    name: o.name,
    stateDir: o.stateDir,
    say: (line) => process.stderr.write(`ctscope lab: ${line}\n`),
  };
}

/** Run an action, mapping failures to a one-line message and exit code 1. */
async function guarded(exit: Exit, action: () => Promise<void>): Promise<void> {
  try {
    await action();
    exit(0);
  } catch (err) {
    const e = err as Error;
    const known =
      err instanceof LabPreflightError || err instanceof LabError || err instanceof NodeCommandError;
    process.stderr.write(`ctscope lab: ${known ? e.message : (e.stack ?? e.message)}\n`);
    exit(1);
  }
}

function print(json: boolean | undefined, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : human.endsWith('\n') ? human : `${human}\n`);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What `lab up --json` prints (also what test helpers read). */
export function upSummary(state: LabState, notes: string[]) {
  const t = state.topology;
  return {
    name: state.name,
    iptables: state.iptables,
    node: t.node,
    namespaces: labNamespaces(t),
    url: state.serve?.url ?? null,
    token: state.serve?.token ?? null,
    stateDir: state.dir,
    services: t.services.map((s) => ({
      key: s.key,
      name: `${s.namespace}/${s.name}:${s.portName}`,
      vip: s.clusterIp,
      vip6: s.clusterIp6 ?? null,
      port: s.port,
      endpoints: t.pods
        .filter((p) => p.service === s.key)
        .map((p) => ({ pod: p.key, ip: state.podIps[p.key], ip6: p.ip6 ?? null, port: p.port })),
    })),
    clients: t.clients.map((c) => {
      const ends = clientEndpoints(t, c);
      const proc = state.processes.find((p) => p.key === c.key);
      return {
        key: c.key,
        family: ends.family,
        src: ends.src,
        vip: ends.vip,
        sport: c.sport ?? null,
        mode: c.mode,
        service: c.service,
        log: proc?.log,
        pid: proc?.pid,
      };
    }),
    notes,
  };
}

function humanUp(s: ReturnType<typeof upSummary>): string {
  const lines = [`lab ${s.name} is up (iptables ${s.iptables})`, `  node namespace  ${s.node}`];
  for (const svc of s.services) {
    lines.push(
      `  service         ${svc.name}  ${svc.vip}:${svc.port} -> ${svc.endpoints.map((e) => `${e.ip}:${e.port} (${e.pod})`).join(', ')}`,
    );
    if (svc.vip6)
      lines.push(
        `                  ${joinHostPort(svc.vip6, svc.port)} -> ${svc.endpoints.flatMap((e) => (e.ip6 ? [`${joinHostPort(e.ip6, e.port)} (${e.pod})`] : [])).join(', ')}`,
      );
  }
  for (const c of s.clients) {
    const from = c.family === 6 ? `[${c.src}]` : c.src;
    lines.push(`  client          ${c.key}  ${from}:${c.sport ?? 'random'} -> ${c.service}  log ${c.log}`);
  }
  for (const n of s.notes) lines.push(`  note            ${n}`);
  if (s.url && s.token) {
    lines.push(
      `  ctscope         ${s.url}/?token=${s.token}`,
      `  API             curl -s -H 'Authorization: Bearer ${s.token}' ${s.url}/api/flows`,
    );
  } else {
    lines.push(`  ctscope         not started (--no-serve); watch it with: ctscope serve --netns ${s.node}`);
  }
  lines.push(
    `next: ctscope lab restart${s.name === DEFAULT_LAB_NAME ? '' : ` --name ${s.name}`}   (the seed incident)`,
  );
  return lines.join('\n');
}

function humanStatus(s: LabStatus): string {
  if (!s.up) {
    const left = Object.entries(s.namespaces)
      .filter(([, v]) => v)
      .map(([k]) => k);
    return left.length
      ? `not up, but these namespaces exist: ${left.join(', ')} (ctscope lab down removes them)`
      : 'not up';
  }
  const st = s.state!;
  const lines = [`lab ${st.name} is up since ${st.createdAt} (iptables ${st.iptables})`];
  for (const [ns, ok] of Object.entries(s.namespaces)) lines.push(`  netns   ${ns}${ok ? '' : '  MISSING'}`);
  for (const p of s.processes)
    lines.push(`  ${p.role.padEnd(9)} ${p.key} pid ${p.pid}${p.alive ? '' : '  NOT RUNNING'}`);
  if (s.serve)
    lines.push(
      `  serve   ${s.serve.url} pid ${s.serve.pid}${s.serve.alive ? '' : '  NOT RUNNING'} healthz ${s.serve.healthz ?? 'no answer'}`,
    );
  for (const [k, l] of Object.entries(s.clients)) {
    lines.push(
      `  client  ${k}: ${l ? `${l.ok ? 'ok  ' : 'FAIL'} at ${iso(l.at)} sport ${l.sport} from ${l.from}` : 'no log yet'}`,
    );
  }
  if (st.servicesWithoutRules.length)
    lines.push(
      `  WARNING rules missing for ${st.servicesWithoutRules.join(', ')} (interrupted restart? run lab restart again)`,
    );
  for (const h of st.history) lines.push(`  history ${h.at} ${h.what}`);
  return lines.join('\n');
}

/** Add `lab` and its subcommands to the program. */
export function registerLabCommand(program: Command, exit: Exit): void {
  const lab = program
    .command('lab')
    .description(
      'A throwaway single-node "cluster" in network namespaces that reproduces the seed incident (root only).',
    );

  withCommon(lab.command('up'))
    .description('Build the lab (node, pods, clients, kube-proxy-style rules) and start ctscope serve on it.')
    .addOption(
      new Option('--iptables <backend>', 'iptables backend for the node namespace')
        .choices(['nft', 'legacy'])
        .default('nft'),
    )
    .addOption(
      new Option('--port <n>', 'ctscope serve port (0 = first free from 7474)')
        .default(0)
        .argParser(number('--port', 0, 65535, true)),
    )
    .addOption(
      new Option('--suspect-poll <ms>', 'ctscope serve --suspect-poll')
        .default(2000)
        .argParser(number('--suspect-poll', 200, 60_000, true)),
    )
    .addOption(
      new Option('--nat-poll <ms>', 'ctscope serve --nat-poll')
        .default(500)
        .argParser(number('--nat-poll', 200, 60_000, true)),
    )
    .option('--no-serve', 'do not start ctscope serve')
    .action(
      (
        o: CommonOpts & {
          iptables: 'nft' | 'legacy';
          port: number;
          suspectPoll: number;
          natPoll: number;
          serve: boolean;
        },
      ) =>
        guarded(exit, async () => {
          const { state, notes } = await labUp({
            ...context(o),
            iptables: o.iptables,
            serve: o.serve,
            port: o.port,
            suspectPollMs: o.suspectPoll,
            natPollMs: o.natPoll,
          });
          const summary = upSummary(state, notes);
          print(o.json, summary, humanUp(summary));
        }),
    );

  withCommon(lab.command('restart'))
    .description(
      "The seed incident: remove a service's rules, delete its conntrack entries, wait, restore the rules.",
    )
    .option('--service <key>', 'service to restart (dns or echo)', 'dns')
    .addOption(
      new Option('--gap <seconds>', 'how long the rules stay away')
        .default(3)
        .argParser(number('--gap', 0, 600, false)),
    )
    .action((o: CommonOpts & { service: string; gap: number }) =>
      guarded(exit, async () => {
        const r = await labRestart(context(o), { service: o.service, gapS: o.gap });
        print(
          o.json,
          r,
          `restart ${r.service}${r.vip6 ? ' (IPv4 and IPv6)' : ''}: rules removed ${iso(r.rulesRemovedAt)}, ${r.entriesDeleted} entries deleted ${iso(r.entriesDeletedAt)}, rules restored ${iso(r.rulesRestoredAt)}\n` +
            'fixed-port clients that sent during the gap are now stuck on an entry with no DNAT (no-dnat, kept alive)',
        );
      }),
    );

  withCommon(lab.command('replace-endpoint'))
    .description(
      'Give an endpoint pod a new address and update the rules, leaving the conntrack entries alone.',
    )
    .option('--service <key>', 'service whose endpoint is replaced (dns or echo)', 'dns')
    .option('--pod <key>', 'pod to replace (default: the one the first fixed-port client is pinned to)')
    .action((o: CommonOpts & { service: string; pod?: string }) =>
      guarded(exit, async () => {
        const r = await labReplaceEndpoint(context(o), { service: o.service, pod: o.pod });
        const stale = r.clients.filter((c) => c.stale).map((c) => `${c.client} (${c.src}:${c.sport})`);
        print(
          o.json,
          r,
          `replace-endpoint ${r.service}: ${r.pod} ${r.oldIp} -> ${r.newIp}, rules updated ${iso(r.rulesUpdatedAt)}\n` +
            `entries left pointing at ${r.oldIp}: ${stale.length ? stale.join(', ') : 'none of the fixed-port clients'}`,
        );
      }),
    );

  withCommon(lab.command('down'))
    .description('Remove everything the lab made (processes, namespaces, state). Safe to repeat.')
    .action((o: CommonOpts) =>
      guarded(exit, async () => {
        const r = await labDown(context(o));
        print(
          o.json,
          r,
          `lab ${o.name} is down: removed ${r.namespaces.length} namespaces, stopped ${r.processes} processes`,
        );
      }),
    );

  withCommon(lab.command('status'))
    .description("Show the lab's namespaces, processes, ctscope serve and the clients' latest answers.")
    .action((o: CommonOpts) =>
      guarded(exit, async () => {
        const s = await labStatus(context(o));
        print(o.json, s, humanStatus(s));
      }),
    );

  withCommon(lab.command('capture'))
    .description('Record a fault on a running lab as regression fixtures (conntrack -E/-L, iptables-save).')
    .requiredOption('--out <dir>', 'directory to write (created)')
    .addOption(
      new Option('--fault <fault>', 'fault to capture')
        .choices(['restart', 'replace-endpoint'])
        .default('restart'),
    )
    .addOption(
      new Option('--gap <seconds>', 'restart gap').default(3).argParser(number('--gap', 0, 60, false)),
    )
    .addOption(
      new Option('--dumps <n>', 'conntrack -L dumps after the fault')
        .default(4)
        .argParser(number('--dumps', 1, 20, true)),
    )
    .addOption(
      new Option('--dump-interval <seconds>', 'seconds between dumps')
        .default(3)
        .argParser(number('--dump-interval', 1, 60, true)),
    )
    .action(
      (
        o: CommonOpts & {
          out: string;
          fault: 'restart' | 'replace-endpoint';
          gap: number;
          dumps: number;
          dumpInterval: number;
        },
      ) =>
        guarded(exit, async () => {
          const r = await captureLab(context(o), {
            out: o.out,
            fault: o.fault,
            gapS: o.gap,
            dumps: o.dumps,
            dumpIntervalS: o.dumpInterval,
          });
          print(o.json, r, `captured ${o.fault} into ${o.out}: ${r.files.join(', ')}`);
        }),
    );
}
