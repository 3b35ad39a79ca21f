/** The `poll` source: re-reads only the suspect entries, because a kept-alive UDP entry never emits events. */
import { type FullDumpCover, listConntrack } from './conntrack-dump-source.js';
import type { NodeCommandOptions, SourceSink } from './source-types.js';
import { periodic, Supervisor } from './supervisor.js';

/** The original-direction tuple of a suspect entry. */
export interface SuspectTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** Options for {@link createSuspectPoller}. */
export interface SuspectPollerOptions {
  sink: SourceSink;
  node: NodeCommandOptions;
  /** Poll interval, ms, read before every wait (default 2000). */
  intervalMs?: () => number;
  /** Current suspects, read at every poll. */
  suspects: () => SuspectTuple[];
  /**
   * Whether a full dump is re-reading every entry, suspects included, now (`running`) or about to (`due`): the poll
   * skips its turn (after a flood, a suspect frontend's listing is most of the table, and listing it beside the
   * dump that converges the table slowed both).
   */
  fullDumpCovers?: () => FullDumpCover | undefined;
  /** When the last full dump completed (clock ms): it read every entry, suspects included. */
  lastFullDumpAt?: () => number | undefined;
  /**
   * Skip for a full dump at most this long (default 5 intervals): for a `due` one, since the suspects were last
   * read (by a poll, a running full dump, or one that completed); for a `running` one, since it was first seen
   * running. A loss
   * that never stops keeps a dump owed, its runs can be killed as stale and a dump can fail, so the suspects would
   * otherwise wait for the resync backoff.
   */
  maxCoveredMs?: number;
  /** Most `conntrack -L` processes per poll (default 32); further groups wait for later polls, round-robin. */
  maxQueriesPerPoll?: number;
  /**
   * After a poll that listed more than {@link BIG_LISTING_LINES} lines, the wait before the next one is at least
   * this many times its cost (queries plus the sink's ingest), so a frontend with a huge table (a flood) is not
   * listed every interval (default 30: ≤ ~3% of the time; a 10k/s flood's frontend listing costs ~0.2 CPU-s), but
   * never longer than {@link maxCostWaitMs}.
   */
  costFactor?: number;
  /**
   * Longest wait the cost factor may impose (default 10 s, a third of UDP's 30 s unreplied timeout): a listing of
   * a 250k-entry table takes 1-2 s, and 30 × that would let a kept-alive entry go unread for a minute.
   */
  maxCostWaitMs?: number;
  /** Listings longer than this count as big (default {@link BIG_LISTING_LINES}). */
  bigListingLines?: number;
  /** Kill a query that takes longer than this, ms (default 10 s). */
  timeoutMs?: number;
  /** Clock, ms. */
  now?: () => number;
  /** First restart backoff after a failed poll, ms (default 500). */
  minBackoffMs?: number;
  /** Max restart backoff, ms (default 30 s). */
  maxBackoffMs?: number;
}

/** Suspects sharing one destination, queried with a single `conntrack -L`. */
export interface SuspectGroup {
  /** Sort key, `dst dport`. */
  key: string;
  dst: string;
  dport: number;
  members: SuspectTuple[];
}

/** Groups suspects by (dst, dport), sorted by key so round-robin order is stable as suspects come and go. */
export function groupSuspects(suspects: readonly SuspectTuple[]): SuspectGroup[] {
  const groups = new Map<string, SuspectGroup>();
  for (const s of suspects) {
    const key = `${s.dst} ${s.dport}`;
    const g = groups.get(key);
    if (g) g.members.push(s);
    else groups.set(key, { key, dst: s.dst, dport: s.dport, members: [s] });
  }
  return [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** `conntrack -L` arguments for one group: exact tuple when it has a single member. */
export function suspectQueryArgs(group: SuspectGroup): string[] {
  const args = ['-L', '-p', 'udp'];
  // conntrack lists IPv4 by default; an IPv6 filter needs the family spelled out.
  if (group.dst.includes(':')) args.push('-f', 'ipv6');
  args.push('--orig-dst', group.dst, '--dport', String(group.dport));
  const only = group.members.length === 1 ? group.members[0] : undefined;
  if (only) args.push('--orig-src', only.src, '--sport', String(only.sport));
  args.push('-o', 'extended,id');
  return args;
}

/** The field value after `name=` (first occurrence: the original direction), or undefined. */
function field(line: string, name: string): string | undefined {
  const i = line.indexOf(` ${name}=`);
  if (i < 0) return undefined;
  const from = i + name.length + 2;
  const end = line.indexOf(' ', from);
  return line.slice(from, end < 0 ? undefined : end);
}

/**
 * The lines whose original tuple is one of `members`: a group query lists every entry to the frontend, which in a
 * flood is the whole table, and only the suspects need re-reading.
 */
export function suspectLines(lines: readonly string[], members: readonly SuspectTuple[]): string[] {
  const wanted = new Set(members.map((m) => `${m.src} ${m.sport}`));
  return lines.filter((l) => wanted.has(`${field(l, 'src')} ${field(l, 'sport')}`));
}

/** A poll that listed more lines than this (a flood to a suspect frontend) spaces the next one by its cost. */
export const BIG_LISTING_LINES = 10_000;

/** Supervised poller named `poll`; call `start()` on the result. */
export function createSuspectPoller(opts: SuspectPollerOptions): Supervisor {
  const now = opts.now ?? Date.now;
  const max = Math.max(1, opts.maxQueriesPerPoll ?? 32);
  const intervalMs = opts.intervalMs ?? (() => 2000);
  // Key of the last group polled: the next poll starts after it, so every group gets its turn.
  let cursor: string | undefined;
  const costFactor = opts.costFactor ?? 30;
  const maxCostWaitMs = opts.maxCostWaitMs ?? 10_000;
  let lastCostMs = 0;

  // Lines the last poll's queries listed (before keeping only the suspects'): a flood makes this the whole table.
  let listed = 0;
  const pollOnce = async (signal: AbortSignal): Promise<void> => {
    const started = performance.now();
    listed = 0;
    try {
      await queryOnce(signal);
    } finally {
      // Only big listings back off: small polls keep the configured interval, which kept-alive timing relies on.
      lastCostMs = listed > (opts.bigListingLines ?? BIG_LISTING_LINES) ? performance.now() - started : 0;
    }
  };

  // When the suspects were last read by a poll or a running full dump (or the poller started); a completed full
  // dump read them too.
  let lastRun: number | undefined;
  // When this poller first saw the full dump in flight now running.
  let runningSince: number | undefined;
  const queryOnce = async (signal: AbortSignal): Promise<void> => {
    const at = now();
    lastRun ??= at;
    const maxCovered = opts.maxCoveredMs ?? 5 * intervalMs();
    const cover = opts.fullDumpCovers?.();
    if (cover === 'running') {
      // Not beside the dump that is re-reading every entry (it counts as a read of the suspects), unless it has
      // been running too long: a dump that keeps failing must not silence the poll.
      runningSince ??= at;
      if (at - runningSince < maxCovered) {
        lastRun = at;
        return;
      }
    } else {
      runningSince = undefined;
      const read = Math.max(lastRun, opts.lastFullDumpAt?.() ?? Number.NEGATIVE_INFINITY);
      if (cover === 'due' && at - read < maxCovered) return;
    }
    lastRun = at;
    const groups = groupSuspects(opts.suspects());
    if (groups.length === 0) return;
    let start = cursor === undefined ? 0 : groups.findIndex((g) => g.key > cursor!);
    if (start < 0) start = 0;
    const batch: SuspectGroup[] = [];
    for (let i = 0; i < Math.min(max, groups.length); i++) batch.push(groups[(start + i) % groups.length]!);

    const lines: string[] = [];
    const failures: string[] = [];
    for (const group of batch) {
      if (signal.aborted) return;
      cursor = group.key;
      try {
        const r = await listConntrack(suspectQueryArgs(group), opts.node, {
          timeoutMs: opts.timeoutMs ?? 10_000,
          signal,
        });
        listed += r.lines.length;
        for (const line of suspectLines(r.lines, group.members)) lines.push(line);
      } catch (err) {
        if (signal.aborted) return;
        failures.push((err as Error).message);
      }
    }
    if (signal.aborted) return;
    // Report what was read even if some queries failed: absent lines are not evidence that an entry is gone.
    if (failures.length < batch.length) opts.sink.onDump('poll', lines, now());
    if (failures.length > 0) {
      const more = failures.length > 1 ? ` (and ${failures.length - 1} more failed queries)` : '';
      throw new Error(`${failures[0]}${more}`);
    }
  };

  return new Supervisor({
    name: 'poll',
    run: periodic(pollOnce, () => Math.max(intervalMs(), Math.min(costFactor * lastCostMs, maxCostWaitMs))),
    onState: (s) => opts.sink.onSourceState(s),
    minBackoffMs: opts.minBackoffMs,
    maxBackoffMs: opts.maxBackoffMs,
    now,
  });
}
