/** The `dump` source: full `conntrack -L` dumps of the UDP table, at start, on resync requests and periodically. */
import { createReadStream, readSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { LineSplitter } from '@ctscope/shared';
import { DUMP_NICE_LEVELS, RESYNC_QUIET_MS } from '../config.js';
import { NodeCommandError, runNodeCommand } from '../node/node-command.js';
import type { NodeCommandOptions, SourceSink } from './source-types.js';
import { Supervisor } from './supervisor.js';

/** Summary conntrack prints on stderr after a listing. */
const SUMMARY = /^conntrack v\S* \(conntrack-tools\): \d+ flow (?:entries|events) have been shown\.$/;
/** Some conntrack versions exit 1 when a filtered listing matched nothing. */
const EMPTY_SUMMARY = /\b0 flow entries have been shown\./;

/** Entry lines of one `conntrack -L` run. */
export interface ConntrackListing {
  lines: string[];
  /** Wall time of the command, ms. */
  durationMs: number;
}

/**
 * Runs `conntrack ARGS` (a listing) and returns its entry lines; "exit 1 with 0 flow entries" is an empty result.
 * The output is split as it streams in, so a dump of a big table is never held as one string plus its split.
 */
export async function listConntrack(
  args: readonly string[],
  node: NodeCommandOptions,
  opts: {
    timeoutMs?: number;
    signal?: AbortSignal;
    spoolFile?: string;
    /**
     * Takes the entry lines in chunks (then `lines` comes back empty), so a big dump is never held whole. With a
     * spool file they are read as conntrack writes them, while it still runs (it never waits on us), each chunk
     * after the previous one's returned promise; without one, the lines collected from the pipe come as one chunk
     * at the end. Lines already handed over stay handed over if the command then fails.
     */
    onLines?: (lines: string[]) => void | Promise<void>;
    /** Nice levels to try for conntrack once started, best first. */
    nice?: readonly number[];
  } = {},
): Promise<ConntrackListing> {
  const lines: string[] = [];
  // Created 0600 before conntrack writes to it (the table lists every flow's addresses); a pipe if that fails.
  const spool =
    opts.spoolFile !== undefined && (await createPrivate(opts.spoolFile)) ? opts.spoolFile : undefined;
  const { onLines } = opts;
  // Ends the command when following its output fails: never a dump left running beside the retry.
  const reader = new AbortController();
  try {
    const run = runNodeCommand('conntrack', args, {
      ...node,
      timeoutMs: opts.timeoutMs,
      nice: opts.nice,
      signal: opts.signal ? AbortSignal.any([opts.signal, reader.signal]) : reader.signal,
      ...(spool === undefined
        ? { onStdoutLines: (chunk: string[]) => keepEntryLines(chunk, lines) }
        : { stdoutFile: spool }),
    });
    if (spool !== undefined && onLines !== undefined) {
      let complete: boolean;
      try {
        complete = await followSpool(
          spool,
          run,
          async (chunk) => {
            const kept: string[] = [];
            keepEntryLines(chunk, kept);
            if (kept.length > 0) await onLines(kept);
          },
          opts.signal,
        );
      } catch (err) {
        reader.abort();
        await run.catch(() => {});
        throw err;
      }
      // Cancelled (a stale dump): what the spool still held was not taken, so this is no listing, even if
      // conntrack had finished before the cancel.
      if (!complete) {
        await run.catch(() => {});
        throw new Error(`conntrack ${args.join(' ')}: cancelled`);
      }
      return { lines: [], durationMs: (await run).durationMs };
    }
    const r = await run;
    if (onLines === undefined) {
      // Read back line by line: never the whole dump as one string plus its split copy.
      if (spool !== undefined) await readLines(spool, (chunk) => keepEntryLines(chunk, lines));
      return { lines, durationMs: r.durationMs };
    }
    if (lines.length > 0) await onLines(lines);
    return { lines: [], durationMs: r.durationMs };
  } catch (err) {
    const r = err instanceof NodeCommandError ? err.result : undefined;
    if (r && r.exitCode === 1 && lines.length === 0 && EMPTY_SUMMARY.test(r.stderr)) {
      return { lines: [], durationMs: r.durationMs };
    }
    throw err;
  } finally {
    if (spool !== undefined) await rm(spool, { force: true });
  }
}

/** Create (or truncate) `file` with mode 0600; false when that is not possible. */
async function createPrivate(file: string): Promise<boolean> {
  try {
    const fh = await open(file, 'w', 0o600);
    try {
      await fh.chmod(0o600);
    } finally {
      await fh.close();
    }
    return true;
  } catch {
    return false;
  }
}

/** Feed a file's lines to `onLines` in chunks, as they are read. */
async function readLines(file: string, onLines: (lines: string[]) => void): Promise<void> {
  const splitter = new LineSplitter({ maxLineLength: MAX_LISTING_LINE });
  const stream = createReadStream(file, { encoding: 'utf8' });
  for await (const chunk of stream) {
    const lines = splitter.push(chunk as string);
    if (lines.length > 0) onLines(lines);
  }
  const rest = splitter.flush();
  if (rest.length > 0) onLines(rest);
}

/**
 * Read `file` as `run` writes it, until `run` has ended and the file is read to its end, handing its lines to
 * `onLines` chunk by chunk (waiting for each). Resolves true when it read everything, false when `signal` was
 * aborted first: a cancelled dump's lines are not taken (a stale one's spool can hold a whole table's, and
 * taking them behind a flood's events held the next dump back by seconds). The caller awaits `run` for its result.
 */
async function followSpool(
  file: string,
  run: Promise<unknown>,
  onLines: (lines: string[]) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  let ended = false;
  let clean = false;
  const end = run.then(
    () => {
      ended = true;
      clean = true;
    },
    () => {
      ended = true;
    },
  );
  const fh = await open(file, 'r');
  try {
    const splitter = new LineSplitter({ maxLineLength: MAX_LISTING_LINE });
    const decoder = new StringDecoder('utf8');
    const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let pos = 0;
    for (;;) {
      if (signal?.aborted) return false;
      // Whether it had ended before this read: a read after the end that finds nothing has read everything.
      const wasEnded = ended;
      // Read at once: the file was just written and sits in the page cache. Through the thread pool, behind the
      // recorder's compression, the reads of a 250k-entry dump after a flood waited 0.9 s in all.
      const bytesRead = readSync(fh.fd, buf, 0, buf.length, pos);
      if (bytesRead > 0) {
        pos += bytesRead;
        const chunk = splitter.push(decoder.write(buf.subarray(0, bytesRead)));
        if (chunk.length > 0) await onLines(chunk);
        await yieldToLoop();
      } else if (wasEnded) break;
      else await Promise.race([end, delay(FOLLOW_POLL_MS)]);
    }
    const rest = splitter.push(decoder.end());
    // An unterminated last line is whole only when conntrack exited by itself: a killed one (stale, timeout)
    // stops mid-block, and half a line can still parse as a flow.
    if (clean) rest.push(...splitter.flush());
    if (signal?.aborted) return false;
    if (rest.length > 0) await onLines(rest);
    return true;
  } finally {
    await fh.close();
  }
}

/** How often a dump's spool file is checked for more output while conntrack writes it. */
const FOLLOW_POLL_MS = 20;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** ~1,000 listing lines: a few ms of ingest between chances for other work. */
const READ_CHUNK_BYTES = 256 * 1024;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Longest listing line kept (a conntrack line is a few hundred characters). */
const MAX_LISTING_LINE = 64 * 1024;

function keepEntryLines(chunk: readonly string[], out: string[]): void {
  for (const line of chunk) {
    // The summary belongs on stderr; skip it defensively in case a wrapper merged the streams.
    if (line.length === 0 || (line.startsWith('conntrack v') && SUMMARY.test(line))) continue;
    out.push(line);
  }
}

/** Arguments of a full UDP dump. */
export const FULL_DUMP_ARGS: readonly string[] = ['-L', '-p', 'udp', '-o', 'extended,id'];

/** Options for {@link DumpScheduler}. */
export interface DumpSchedulerOptions {
  sink: SourceSink;
  node: NodeCommandOptions;
  /** Shortest periodic interval, ms (default 5 min). */
  fullIntervalMs?: number;
  /** Periodic dumps may use at most this share of one CPU: interval ≥ lastDurationMs / maxCpuShare (default 0.01). */
  maxCpuShare?: number;
  /** Shortest gap between the end of one dump and a resync dump, ms (default 2 s). */
  minResyncGapMs?: number;
  /**
   * A resync waits at least this many times the last dump's cost (its run time plus the time the sink took to
   * ingest it) after the previous dump (default 2: a loss storm keeps dumps under about a third of the time).
   */
  resyncCostFactor?: number;
  /** Loss that keeps coming doubles the resync gap, up to this (default 30 s, or 10 × the dump's cost if more). */
  maxResyncGapMs?: number;
  /**
   * Past the floor, a resync runs once no loss was reported for this long (default `RESYNC_QUIET_MS`), or at the backed-off gap
   * if the loss never stops: the dump after a loss burst comes right after the burst, not in the middle of it.
   */
  resyncQuietMs?: number;
  /** Kill a dump that takes longer than this, ms (default 30 s). */
  timeoutMs?: number;
  /** Clock, ms; must advance like the wall clock (the waits use real timers). */
  now?: () => number;
  /** First restart backoff after a failed dump, ms (default 500). */
  minBackoffMs?: number;
  /** Max restart backoff, ms (default 30 s). */
  maxBackoffMs?: number;
  /**
   * Directory for the dump's spool file (created 0700 if missing; serve uses `--data-dir`, on the node's disk:
   * a 250k-entry dump is ~60 MB). Without one, or if it cannot be created, the dump is read from a pipe.
   */
  spoolDir?: string;
}

/** How a full dump covers every entry: reading them now, or owed and about to. */
export type FullDumpCover = 'running' | 'due';

/** Counters for the UI. */
export interface DumpStats {
  dumps: number;
  lastDurationMs?: number;
  lastEntries?: number;
  /** Time to the next planned dump; undefined while one is running or the source is stopped. */
  nextInMs?: number;
  /** Why the last dump ran (`start`, `periodic`, or the coalesced resync reasons). */
  lastReason?: string;
  /** Main-thread time the last dump's ingest took, ms. */
  lastIngestMs?: number;
  /** Gap a resync requested now would wait after the last dump, ms (floor × backoff). */
  resyncGapMs: number;
  /** Resync requests folded into dumps that were already due (a loss burst → one dump). */
  coalesced: number;
  /** A dump is running now. */
  inFlight: boolean;
  /** Dumps killed because events were lost while they ran (their table would be stale): a fresh one follows. */
  staleAborted: number;
  /** A resync owed and not yet started: the live table may be stale until it runs (reason, requests, age ms). */
  pendingResync?: { reason: string; requests: number; ageMs: number };
}

/**
 * Schedules full dumps: one at start, one per burst of {@link requestResync} calls, and periodically every
 * `max(fullIntervalMs, 100 × lastDurationMs)` so dumping a huge table stays under about 1% of a CPU (the 100 is
 * `1 / maxCpuShare`). Resyncs are coalesced (one in flight, any number of requests → one dump) and spaced by
 * `max(minResyncGapMs, resyncCostFactor × cost of the last dump)`, doubled for each resync that follows another
 * closely (a loss storm), up to `maxResyncGapMs`: a burst of loss never becomes a burst of full dumps.
 */
export class DumpScheduler {
  /** The supervised source, named `dump`. */
  readonly supervisor: Supervisor;
  readonly #opts: DumpSchedulerOptions;
  readonly #now: () => number;
  readonly #fullIntervalMs: number;
  readonly #minGapMs: number;
  readonly #maxCpuShare: number;
  readonly #costFactor: number;
  readonly #maxResyncGapMs: number;
  readonly #quietMs: number;
  /** Resync dumps in the current storm (0: the next one waits only the floor). */
  #streak = 0;
  #lastResyncEnd: number | undefined;
  #lastIngestMs: number | undefined;
  #coalesced = 0;
  #pending: { first: string; count: number; since: number; last: number } | undefined;
  /** Kills the dump in flight as stale (set while one runs). */
  #abortStale: (() => void) | undefined;
  /** When the dump in flight started (clock ms); undefined while none runs. */
  #runningSince: number | undefined;
  /** When the last dump that was read to its end started (clock ms). */
  #lastCompletedStart: number | undefined;
  #staleAborted = 0;
  /** The last dump was killed as stale: the next one runs to the end, so a storm still converges. */
  #lastWasStale = false;
  /** The spool file once its directory exists; null when spooling is off or failed (a pipe is used). */
  #spool: string | null | undefined;
  #lastEnd: number | undefined;
  /** When the last dump that was not killed completed (clock ms). */
  #lastCompleted: number | undefined;
  #lastDurationMs: number | undefined;
  #lastEntries: number | undefined;
  #lastReason: string | undefined;
  #dumps = 0;
  #wake: (() => void) | undefined;

  constructor(opts: DumpSchedulerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#fullIntervalMs = opts.fullIntervalMs ?? 5 * 60_000;
    this.#minGapMs = opts.minResyncGapMs ?? 2000;
    this.#maxCpuShare = opts.maxCpuShare ?? 0.01;
    this.#costFactor = opts.resyncCostFactor ?? 2;
    this.#quietMs = opts.resyncQuietMs ?? RESYNC_QUIET_MS;
    this.#maxResyncGapMs = opts.maxResyncGapMs ?? 30_000;
    this.supervisor = new Supervisor({
      name: 'dump',
      run: (signal, ready) => this.#run(signal, ready),
      onState: (s) => opts.sink.onSourceState(s),
      minBackoffMs: opts.minBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      now: this.#now,
    });
  }

  /** Start dumping (same as `supervisor.start()`). */
  start(): void {
    this.supervisor.start();
  }

  /** Stop; a dump in flight is killed. */
  stop(): Promise<void> {
    return this.supervisor.stop();
  }

  /**
   * Ask for a full dump because state may be stale (event loss, tail restart). Cheap; coalesced. `at` is when the
   * loss happened (default now): the event tail reports it in order with the lines, and a main thread behind a
   * flood takes it seconds later, which must neither delay the quiet wait nor make a dump that started after the
   * loss look stale.
   */
  requestResync(reason: string, at = this.#now()): void {
    // A dump that started after the loss (running, or the last one read to its end) lists the table as it was
    // after it: nothing more is owed. (The tail and this clock are both the wall clock in serve.)
    const coveredFrom = this.#runningSince ?? this.#lastCompletedStart;
    if (coveredFrom !== undefined && at < coveredFrom) {
      this.#coalesced++;
      return;
    }
    if (this.#pending) {
      this.#pending.count++;
      this.#pending.last = Math.max(this.#pending.last, at);
      this.#coalesced++;
    } else this.#pending = { first: reason, count: 1, since: at, last: at };
    // Loss while a dump runs makes its table stale, and another dump is owed anyway: stop paying for this one
    // (the kernel's walk of a 250k-entry table under a flood, then its ingest, took 10+ s) and start the owed
    // one once the loss is over. Never twice in a row, and never the first dump.
    if (this.#abortStale && !this.#lastWasStale && this.#dumps > 0) this.#abortStale();
    this.#wake?.();
  }

  /**
   * Whether a full dump reads every entry now (`running`) or soon (`due`: owed and due within `withinMs`).
   * Undefined while the dump source is not running (a failing dump covers nothing).
   */
  covering(withinMs: number): FullDumpCover | undefined {
    const state = this.supervisor.state.state;
    if (state !== 'running' && state !== 'starting') return undefined;
    if (this.#runningSince !== undefined) return 'running';
    return this.#pending !== undefined && this.#delay() <= withinMs ? 'due' : undefined;
  }

  /** When the last full dump that ran to its end completed (clock ms); undefined before the first. */
  lastCompletedAt(): number | undefined {
    return this.#lastCompleted;
  }

  /** Counters for the UI. */
  stats(): DumpStats {
    const running = this.supervisor.state.state === 'running';
    return {
      dumps: this.#dumps,
      lastDurationMs: this.#lastDurationMs,
      lastEntries: this.#lastEntries,
      nextInMs: running && this.#runningSince === undefined ? this.#delay() : undefined,
      lastReason: this.#lastReason,
      lastIngestMs: this.#lastIngestMs,
      resyncGapMs: this.#resyncGap(),
      coalesced: this.#coalesced,
      inFlight: this.#runningSince !== undefined,
      staleAborted: this.#staleAborted,
      pendingResync: this.#pending && {
        reason: this.#pending.first,
        requests: this.#pending.count,
        ageMs: Math.max(0, this.#now() - this.#pending.since),
      },
    };
  }

  /** The dump's cost: its run time plus the main-thread time to ingest it. */
  #cost(): number {
    return (this.#lastDurationMs ?? 0) + (this.#lastIngestMs ?? 0);
  }

  #resyncFloor(): number {
    return Math.max(this.#minGapMs, this.#costFactor * this.#cost());
  }

  #resyncGap(): number {
    const floor = this.#resyncFloor();
    const cap = Math.max(this.#maxResyncGapMs, 10 * this.#cost(), floor);
    return Math.min(cap, floor * 2 ** this.#streak);
  }

  /** ms until the next dump is due (0: now). */
  #delay(): number {
    if (this.#lastEnd === undefined) return 0;
    const now = this.#now();
    const p = this.#pending;
    if (!p) return Math.max(0, this.#lastEnd + this.#interval() - now);
    const quietAt = p.last + this.#quietMs;
    // Loss has stopped: converge now (after the minimum gap), unless resyncs have been following each other
    // closely, where one dump's cost keeps dumping under half the time.
    if (quietAt <= now) {
      // Right after a dump that loss made stale there is nothing to space from: the loss is what this dump
      // converges. One killed was never ingested. One that ran to its end while loss happened (the one after a
      // kill, which may not be killed; the start dump; one whose loss was reported only after it ended) is let
      // off only while the storm's streak is 0, or an intermittent storm would dump back to back.
      if (this.#lastWasStale || (this.#streak === 0 && this.#lostDuringLast(p.since))) return 0;
      const gap = this.#streak === 0 ? this.#minGapMs : Math.max(this.#minGapMs, this.#cost());
      return Math.max(0, this.#lastEnd + gap - now);
    }
    // Loss continues: the cost-tied floor and the storm's backoff, re-evaluated once it has been quiet.
    const floorAt = this.#lastEnd + this.#resyncFloor();
    const backoffAt = this.#lastEnd + this.#resyncGap();
    return Math.max(0, Math.min(Math.max(floorAt, backoffAt), quietAt) - now);
  }

  /**
   * Whether a loss at `at` happened while the last dump that ran to its end was running (not before: covered). A
   * loss in the millisecond the dump ended counts as after it.
   */
  #lostDuringLast(at: number): boolean {
    return this.#lastCompleted !== undefined && at < this.#lastCompleted;
  }

  async #spoolFile(): Promise<string | null> {
    if (this.#spool !== undefined) return this.#spool;
    const dir = this.#opts.spoolDir;
    this.#spool = null;
    if (dir === undefined) return null;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      this.#spool = join(dir, '.conntrack-dump.tmp');
    } catch {
      this.#spool = null;
    }
    return this.#spool;
  }

  #interval(): number {
    return Math.max(this.#fullIntervalMs, (this.#lastDurationMs ?? 0) / this.#maxCpuShare);
  }

  async #run(signal: AbortSignal, ready: () => void): Promise<void> {
    // Every run dumps first: at start, after stop()/start() (events were missed), and after a failed dump.
    const at = this.#now();
    this.#pending ??= {
      first: this.#dumps === 0 ? 'start' : 'restart',
      count: 1,
      since: at,
      last: at - this.#quietMs,
    };
    while (!signal.aborted) {
      const delay = this.#delay();
      // Woken early by requestResync; the delay is then recomputed with the resync gap.
      if (delay > 0) await this.#wait(delay, signal);
      else await this.#dumpOnce(signal, ready);
    }
  }

  #wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }

  async #dumpOnce(signal: AbortSignal, ready: () => void): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    // The kernel lists each entry somewhere between now and the chunk that carries it.
    const startedAt = this.#now();
    this.#runningSince = startedAt;
    const stale = new AbortController();
    this.#abortStale = () => stale.abort();
    try {
      let listing: Awaited<ReturnType<typeof listConntrack>>;
      const sink = this.#opts.sink;
      const streamed = sink.onDumpLines !== undefined && sink.onDumpEnd !== undefined;
      let entries = 0;
      let ingestMs = 0;
      try {
        // Spooled to a file: conntrack never waits on a pipe the busy main thread would drain late. A sink that
        // takes chunks gets the lines as conntrack writes them, so the dump is never held whole and its ingest
        // overlaps the listing.
        listing = await listConntrack(FULL_DUMP_ARGS, this.#opts.node, {
          timeoutMs: this.#opts.timeoutMs,
          signal: AbortSignal.any([signal, stale.signal]),
          spoolFile: (await this.#spoolFile()) ?? undefined,
          nice: DUMP_NICE_LEVELS,
          onLines: streamed
            ? async (lines) => {
                if (signal.aborted) return;
                entries += lines.length;
                const t0 = performance.now();
                const wait = sink.onDumpLines!('full', lines, this.#now(), startedAt);
                ingestMs += performance.now() - t0;
                await wait;
              }
            : undefined,
        });
      } catch (err) {
        if (!stale.signal.aborted || signal.aborted) throw err;
        // Killed as stale: owe its request too, and space the next one from now as if a dump had ended.
        // (Set again by requestResync while the dump ran.)
        const now = this.#pending as typeof pending;
        this.#pending = pending
          ? { ...pending, count: pending.count + (now?.count ?? 0), last: now?.last ?? pending.last }
          : now;
        this.#staleAborted++;
        this.#lastWasStale = true;
        this.#lastEnd = this.#now();
        return;
      }
      const { lines, durationMs } = listing;
      this.#lastWasStale = false;
      const at = this.#now();
      const resync = pending !== undefined && this.#dumps > 0;
      if (resync) {
        // Loss again within one gap of the previous resync continues a storm: back off further.
        const storm =
          this.#lastResyncEnd !== undefined && pending.since - this.#lastResyncEnd <= this.#resyncGap();
        this.#streak = storm ? this.#streak + 1 : 0;
        this.#lastResyncEnd = at;
      }
      this.#dumps++;
      this.#lastEnd = at;
      this.#lastCompleted = at;
      this.#lastCompletedStart = startedAt;
      this.#lastDurationMs = durationMs;
      this.#lastEntries = streamed ? entries : lines.length;
      this.#lastReason = pending
        ? pending.count > 1
          ? `${pending.first} (+${pending.count - 1} more)`
          : pending.first
        : 'periodic';
      if (!signal.aborted) {
        const t0 = performance.now();
        if (streamed) sink.onDumpEnd!('full', at, startedAt);
        else sink.onDump('full', lines, at, at - durationMs);
        this.#lastIngestMs = Math.round(ingestMs + performance.now() - t0);
      }
      ready();
    } catch (err) {
      // The state is still unknown: keep the request so the restarted run dumps first thing.
      if (pending) this.#pending ??= { ...pending, count: 1 };
      throw err;
    } finally {
      this.#abortStale = undefined;
      this.#runningSince = undefined;
    }
  }
}
