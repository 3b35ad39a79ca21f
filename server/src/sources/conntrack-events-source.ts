/**
 * The `events` source: tails `conntrack -E` for UDP, prioritised (SCHED_FIFO or nice) and read off the main
 * thread by a worker, and hands every raw line to the sink.
 */

import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { ListenerPriority, SourceState } from '@ctscope/shared';
import { parseConntrackLine } from '@ctscope/shared';
import { EVENT_BACKLOG_MAX_CHARS } from '../config.js';
import { nodeArgv } from '../node/node-command.js';
import type { EventTailCommand, EventTailMessage, EventTailWorkerData } from './event-tail-messages.js';
import {
  canUseFifo,
  defaultPriority,
  fifoPriority,
  nicePriority,
  prioritisedCommand,
} from './listener-priority.js';
import type { NodeCommandOptions, SourceSink } from './source-types.js';
import { Supervisor } from './supervisor.js';

/** Options for {@link createConntrackEventsSource}. */
export interface ConntrackEventsSourceOptions {
  sink: SourceSink;
  node: NodeCommandOptions;
  /** Netlink receive buffer for `-b`, bytes: the main defence against ENOBUFS under a flood. */
  bufferBytes: number;
  /** Clock, ms, for restarts and states (event lines are stamped with the wall clock by the reader thread). */
  now?: () => number;
  /** First restart backoff, ms (default 500). */
  minBackoffMs?: number;
  /** Max restart backoff, ms (default 30 s). */
  maxBackoffMs?: number;
  /** Longest stdout line kept (default 64 Ki chars); longer ones are dropped by the splitter. */
  maxLineLength?: number;
  /** Lines read but not yet consumed by the main thread, in chars, before lines are dropped (default 64 Mi). */
  maxBacklogChars?: number;
  /** Whether SCHED_FIFO may be used (default: probed with `chrt` before each start). */
  canUseFifo?: () => Promise<boolean>;
  /**
   * Hand the listener a named pipe that the reader thread reads with pauses, instead of an anonymous pipe it wakes
   * up for on every event (default true; it cut the CPU at 10k/s by about a quarter). False is for tests, and
   * where no FIFO can be made the anonymous pipe is used anyway.
   */
  pollNamedPipe?: boolean;
}

/** Arguments of the event tail (before any netns or priority wrapping). */
export function conntrackEventsArgs(bufferBytes: number): string[] {
  return ['-E', '-p', 'udp', '-o', 'timestamp,extended,id', '-b', String(bufferBytes)];
}

/**
 * The worker's module. Under vitest the sources run from `src/*.ts`, which a worker cannot load on Node 20, so
 * it uses the built one (the test scripts build first).
 */
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/sources/event-tail-worker.js' : './event-tail-worker.js',
  import.meta.url,
);

/**
 * Listeners running now, by pid. Killed if this process exits without stopping them (a crash handled by
 * `process.exit`, a test runner ending): a `conntrack -E` whose reader is gone only notices when it next writes,
 * which on a quiet table may be never.
 */
const runningTails = new Set<number>();
let exitHookInstalled = false;

function trackTail(pid: number): void {
  runningTails.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of runningTails) {
      // Only a listener that is still our child: an ended one's pid may belong to another process by now (pids
      // wrap at 32768 on small nodes; a test runner's next worker got one and was killed).
      if (parentOf(p) !== process.pid) continue;
      try {
        process.kill(p, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  });
}

/** The parent pid of `pid` (Linux), or undefined when it is gone or unreadable. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** The supervised tail, which also tells the listener's current scheduling. */
export type ConntrackEventsSource = Supervisor & {
  /** Scheduling of the current (or last) listener; undefined before the first start. */
  priority(): ListenerPriority | undefined;
  /** Event text read by the tail and not yet taken by the main thread, now and at most since start (chars). */
  backlog(): EventBacklog;
};

/** How far the main thread is behind the tail's reader (lines past `limitChars` are dropped as `backlog` loss). */
export interface EventBacklog {
  chars: number;
  peakChars: number;
  limitChars: number;
}

/** Supervised `conntrack -E` tail named `events`; call `start()` on the result. */
export function createConntrackEventsSource(opts: ConntrackEventsSourceOptions): ConntrackEventsSource {
  const now = opts.now ?? Date.now;
  let priority: ListenerPriority | undefined;
  const limitChars = opts.maxBacklogChars ?? EVENT_BACKLOG_MAX_CHARS;
  const backlog: EventBacklog = { chars: 0, peakChars: 0, limitChars };
  const withPriority = (s: SourceState): SourceState => (priority ? { ...s, priority } : s);
  const supervisor: Supervisor = new Supervisor({
    name: 'events',
    run: (signal, ready) =>
      tailEvents(opts, signal, ready, backlog, (p) => {
        const changed = p.text !== priority?.text;
        priority = p;
        // Usually known before the run is ready, so the `running` state carries it; else tell it now.
        if (changed && supervisor.state.state === 'running')
          opts.sink.onSourceState(withPriority(supervisor.state));
      }),
    onState: (s) => opts.sink.onSourceState(withPriority(s)),
    // Events between the exit and the new tail are gone: the sink must mark a gap and resync.
    onRestart: (attempt, lastError) =>
      opts.sink.onEventLoss('source-restart', `restart ${attempt}: ${lastError ?? 'exited'}`, now()),
    minBackoffMs: opts.minBackoffMs,
    maxBackoffMs: opts.maxBackoffMs,
    // `running` means subscribed: conntrack's `-b` NOTICE (or a first line) says so. On a loaded node the worker
    // and conntrack can take well over a second to start, and events sent before that are not seen.
    readyAfterMs: 15_000,
    now,
  });
  return Object.assign(supervisor, {
    priority: () => priority,
    backlog: (): EventBacklog => ({ ...backlog }),
  });
}

/** One run of the tail: resolves when stopped, rejects when the process ends on its own; ready() once it works. */
async function tailEvents(
  opts: ConntrackEventsSourceOptions,
  signal: AbortSignal,
  ready: () => void,
  seen: EventBacklog,
  onPriority: (p: ListenerPriority) => void,
): Promise<void> {
  const { sink, node } = opts;
  const fifo = await (opts.canUseFifo ?? canUseFifo)().catch(() => false);
  if (signal.aborted) return;
  const planned = fifo ? fifoPriority() : defaultPriority();
  const [cmd, cmdArgs] = prioritisedCommand(planned, 'conntrack', conntrackEventsArgs(opts.bufferBytes));
  const [file, argv] = nodeArgv(cmd, cmdArgs, node);
  const backlog = new SharedArrayBuffer(4);
  const consumed = new Int32Array(backlog);
  // A new worker owes nothing yet (the last run's count died with its buffer).
  seen.chars = 0;
  const workerData: EventTailWorkerData = {
    file,
    argv,
    maxLineLength: opts.maxLineLength ?? 64 * 1024,
    maxBacklogChars: seen.limitChars,
    backlog,
    niceChild: !fifo,
    readerFifo: fifo ? planned.level : undefined,
    pollNamedPipe: opts.pollNamedPipe ?? true,
  };
  // Not tracked: a worker closes, when it exits, every descriptor it opened with fs.open and did not fs.close, and the
  // named pipe's read end is closed by its stream instead. That second close hit whichever descriptor had the number
  // by then, and a main-thread one made libuv abort the process. The worker closes what it opens.
  const worker = new Worker(WORKER_URL, { workerData, trackUnmanagedFds: false });
  const stop = (): void => worker.postMessage({ t: 'stop' } satisfies EventTailCommand);
  signal.addEventListener('abort', stop, { once: true });

  let lastStderr: string | undefined;
  let sinkError: unknown;
  let tailPid: number | undefined;
  let exit: Extract<EventTailMessage, { t: 'exit' }> | undefined;

  const onStderr = (lines: string[], at: number): void => {
    for (const line of lines) {
      const kind = parseConntrackLine(line).kind;
      if (line.includes('ENOBUFS') || kind === 'event-loss') {
        // conntrack ≥ 1.4.6 warns and continues; older versions exit right after (the exit restarts us).
        sink.onEventLoss('enobufs', line, at);
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

  const onMessage = (m: EventTailMessage): void => {
    switch (m.t) {
      case 'pid':
        tailPid = m.pid;
        trackTail(m.pid);
        return;
      case 'spawned': {
        const p = fifo ? planned : m.childNice !== undefined ? nicePriority(m.childNice) : defaultPriority();
        onPriority({ ...p, reader: m.reader, pipe: m.pipe });
        return;
      }
      case 'lines':
        // What the worker had handed over and the main thread not yet taken, this message included.
        seen.chars = Atomics.load(consumed, 0);
        if (seen.chars > seen.peakChars) seen.peakChars = seen.chars;
        try {
          if (sinkError === undefined) {
            ready();
            if (sink.onEventLines) for (const c of m.chunks) sink.onEventLines(c.lines, c.at);
            else for (const c of m.chunks) for (const line of c.lines) sink.onEventLine(line, c.at);
          }
        } catch (e) {
          // A throwing sink is a bug; fail the run loudly (restart → loss → resync) rather than drop lines silently.
          sinkError = e;
          stop();
        } finally {
          seen.chars = Atomics.sub(consumed, 0, m.chars) - m.chars;
        }
        return;
      case 'stderr':
        onStderr(m.lines, m.at);
        return;
      case 'backlog':
        sink.onEventLoss(
          'backlog',
          `${m.lines} event lines dropped in ${((m.at - m.from) / 1000).toFixed(1)} s: ctscope fell behind conntrack -E by more than ${Math.round(workerData.maxBacklogChars / 1048576)} MiB`,
          m.at,
        );
        return;
      case 'exit':
        exit = m;
        if (tailPid !== undefined) runningTails.delete(tailPid);
        return;
    }
  };

  try {
    await new Promise<void>((resolve, reject) => {
      // Node runs every batch queued on the port in one go, so under a flood the event loop serves nothing else
      // (timers, child exits, file opens, HTTP) until the backlog is taken. That keeps dumps and polls off the main
      // thread mid-flood: run in 10 ms slices instead (session 14, bench:kernel), they ran during the flood and
      // the table converged 2-3x later.
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', () => resolve());
    });
  } finally {
    signal.removeEventListener('abort', stop);
  }

  if (sinkError !== undefined) {
    throw new Error(
      `event sink threw: ${sinkError instanceof Error ? sinkError.message : String(sinkError)}`,
    );
  }
  if (signal.aborted) return;
  if (!exit) throw new Error('event tail worker ended without a result');
  if (exit.code === 'ENOENT') throw new Error(`${file}: command not found`);
  if (exit.exitCode === undefined && !exit.signal) throw new Error(`${file}: ${exit.message ?? 'failed'}`);
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
  throw new Error(`conntrack -E ${how}${lastStderr ? `: ${lastStderr}` : ''}`);
}
