/** The `events` source: tails `conntrack -E` for UDP and hands every raw line to the sink as it arrives. */
import { LineSplitter, parseConntrackLine } from '@ctscope/shared';
import { nodeArgv, spawnNodeCommand } from '../node/node-command.js';
import type { NodeCommandOptions, SourceSink } from './source-types.js';
import { Supervisor } from './supervisor.js';

/** Options for {@link createConntrackEventsSource}. */
export interface ConntrackEventsSourceOptions {
  sink: SourceSink;
  node: NodeCommandOptions;
  /** Netlink receive buffer for `-b`, bytes: the main defence against ENOBUFS under a flood. */
  bufferBytes: number;
  /** Clock, ms. */
  now?: () => number;
  /** First restart backoff, ms (default 500). */
  minBackoffMs?: number;
  /** Max restart backoff, ms (default 30 s). */
  maxBackoffMs?: number;
  /** Longest stdout line kept (default 64 Ki chars); longer ones are dropped by the splitter. */
  maxLineLength?: number;
}

/** Arguments of the event tail (before any netns wrapping). */
export function conntrackEventsArgs(bufferBytes: number): string[] {
  return ['-E', '-p', 'udp', '-o', 'timestamp,extended,id', '-b', String(bufferBytes)];
}

/** Supervised `conntrack -E` tail named `events`; call `start()` on the result. */
export function createConntrackEventsSource(opts: ConntrackEventsSourceOptions): Supervisor {
  const now = opts.now ?? Date.now;
  return new Supervisor({
    name: 'events',
    run: (signal, ready) => tailEvents(opts, now, signal, ready),
    onState: (s) => opts.sink.onSourceState(s),
    // Events between the exit and the new tail are gone: the sink must mark a gap and resync.
    onRestart: (attempt, lastError) =>
      opts.sink.onEventLoss('source-restart', `restart ${attempt}: ${lastError ?? 'exited'}`, now()),
    minBackoffMs: opts.minBackoffMs,
    maxBackoffMs: opts.maxBackoffMs,
    now,
  });
}

/** One run of the tail: resolves when stopped, rejects when the process ends on its own; ready() once it works. */
async function tailEvents(
  opts: ConntrackEventsSourceOptions,
  now: () => number,
  signal: AbortSignal,
  ready: () => void,
): Promise<void> {
  const { sink, node } = opts;
  const args = conntrackEventsArgs(opts.bufferBytes);
  const [file] = nodeArgv('conntrack', args, node);
  const child = spawnNodeCommand('conntrack', args, node, {
    cancelSignal: signal,
    forceKillAfterDelay: 2000,
  });
  const out = new LineSplitter({ maxLineLength: opts.maxLineLength });
  const err = new LineSplitter({ maxLineLength: 4096 });
  let lastStderr: string | undefined;
  let sinkError: unknown;

  const deliver = (lines: string[]): void => {
    if (lines.length === 0 || sinkError !== undefined) return;
    // One clock read per chunk: lines that arrived together share a receive time.
    const at = now();
    try {
      for (const line of lines) sink.onEventLine(line, at);
    } catch (e) {
      // A throwing sink is a bug; fail the run loudly (restart → loss → resync) rather than drop lines silently.
      sinkError = e;
      child.kill();
    }
  };
  const onStderr = (lines: string[]): void => {
    for (const line of lines) {
      const kind = parseConntrackLine(line).kind;
      if (line.includes('ENOBUFS') || kind === 'event-loss') {
        // conntrack ≥ 1.4.6 warns and continues; older versions exit right after (the exit restarts us).
        sink.onEventLoss('enobufs', line, now());
        if (line.includes('Operation failed')) lastStderr = line;
      } else if (line.startsWith('NOTICE: Netlink socket buffer size')) {
        // Printed once the netlink socket is set up: the tail works even if the table is quiet.
        ready();
      } else if (kind !== 'blank' && kind !== 'summary') {
        // `blank` also covers the ENOBUFS hint lines; the summary is printed on exit. Kept for the exit message.
        lastStderr = line;
      }
    }
  };

  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    ready();
    deliver(out.push(chunk));
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => onStderr(err.push(chunk)));

  const r = await child;
  deliver(out.flush());
  onStderr(err.flush());

  if (sinkError !== undefined) {
    throw new Error(
      `event sink threw: ${sinkError instanceof Error ? sinkError.message : String(sinkError)}`,
    );
  }
  if (signal.aborted) return;
  const code = (r as { code?: string }).code;
  if (code === 'ENOENT') throw new Error(`${file}: command not found`);
  if (r.exitCode === undefined && !r.signal)
    throw new Error(`${file}: ${r.originalMessage || r.shortMessage}`);
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
  throw new Error(`conntrack -E ${how}${lastStderr ? `: ${lastStderr}` : ''}`);
}
