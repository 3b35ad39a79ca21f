/**
 * The on-disk recording format (NDJSON, one record per line), shared so the browser can replay a file.
 * Every line is a JSON object with `t` (receive time, ms since the epoch) and `k` (kind).
 */
import type { FlowRecord } from '../conntrack/conntrack-types.js';
import type { AutoRemedyAction } from '../engine/remedy-log.js';
import type { NatSnapshot } from '../nat/nat-types.js';
import type { PlayerState } from './recording-player.js';

/** Bumped when a record's meaning changes or a kind is added; readers reject newer majors (2: `listed`). */
export const RECORDING_FORMAT_VERSION = 2;

/** First line of every segment file. */
export interface RecHeader {
  k: 'header';
  t: number;
  /** Format version. */
  v: number;
  /** Node name. */
  node: string;
  /** Network namespace, when ctscope watched one. */
  netns?: string;
  /** ctscope version that wrote it. */
  writer: string;
}

/** One raw line from `conntrack -E` (or a dump line when `src` is `dump`/`poll`). */
export interface RecLine {
  k: 'line';
  t: number;
  /** Which source printed it: `events`, `dump` (full -L), `poll` (targeted -L of suspects). */
  src: 'events' | 'dump' | 'poll';
  /** The raw line, unparsed, so a newer parser can re-read old recordings. */
  line: string;
}

/** Start/end of a full or targeted dump, so a replay knows which entries were absent. */
export interface RecDump {
  k: 'dump';
  t: number;
  /** `begin` or `end` of a `-L` run. */
  phase: 'begin' | 'end';
  /** `full` or `poll`. */
  scope: 'full' | 'poll';
}

/**
 * Dump lines that said nothing new, recorded as the flows they re-read instead of whole: a line that only counted
 * a live flow's timeout down is `[flow key, timeout, mark?]` (~15 bytes instead of ~250). Belongs to the open
 * `dump` run of `src`'s scope; a replay applies it in file order, as live applied the lines.
 */
export interface RecListed {
  k: 'listed';
  t: number;
  src: 'dump' | 'poll';
  flows: ListedReading[];
}

/** One quiet dump reading: the flow's key in the live table, the listed timeout, and the mark when printed. */
export type ListedReading = [key: string, timeout: number, mark?: number];

/** A NAT snapshot version (written when the hash changes). */
export interface RecNat {
  k: 'nat';
  t: number;
  snapshot: NatSnapshot;
}

/** Node counters (`conntrack -S` totals, `-C`, `nf_conntrack_max`). */
export interface RecCounters {
  k: 'counters';
  t: number;
  /** Entries in the table. */
  count?: number;
  /** nf_conntrack_max. */
  max?: number;
  /** Per-counter sums over CPUs (insert_failed, drop, early_drop, clash_resolve, ...). */
  stats: Record<string, number>;
}

/**
 * Event loss: `enobufs` (the kernel dropped events on the netlink socket), `source-restart` (the tail exited and
 * was restarted), `backlog` (ctscope fell behind the tail by more than its bounded buffer and dropped lines).
 */
export type EventLossReason = 'enobufs' | 'source-restart' | 'backlog';

/** Why the recorded stream has a hole or a boundary. */
export type GapReason =
  | EventLossReason
  | 'server-start'
  | 'server-stop'
  | 'recording-paused'
  | 'recording-resumed';

/** A gap marker: state is unknown from here until the next full dump. */
export interface RecGap {
  k: 'gap';
  t: number;
  reason: GapReason;
  /** Free text, e.g. the source's last error. */
  detail?: string;
  /** Records lost in the hole that this `recording-resumed` gap closes. */
  dropped?: number;
}

/** Periodic checkpoint of the live table. Replay skips it (it always plays from the start); kept for readers that want a table without replaying. */
export interface RecCheckpoint {
  k: 'checkpoint';
  t: number;
  /** Every live flow's latest parsed record at this moment. */
  flows: FlowRecord[];
}

/**
 * The whole replay state at `t` (flows with their verdicts and history, NAT versions, markers, counters): the
 * first record of a slice exported from a longer recording, so the slice replays exactly as the original did.
 */
export interface RecState {
  k: 'state';
  t: number;
  state: PlayerState;
}

/** ctscope deleted this entry (DELETE /api/flows/:id): it is gone from here on, events or not. */
export interface RecDeleted {
  k: 'deleted';
  t: number;
  /** Flow id as served by the API. */
  id: string;
  /** The exact argv that was run. */
  argv: string[];
}

/** An auto-remedy action or decision (the delete itself is also a `deleted` record). */
export interface RecRemedy {
  k: 'remedy';
  t: number;
  action: AutoRemedyAction;
}

/** Any recording line. */
export type RecordingRecord =
  | RecHeader
  | RecLine
  | RecListed
  | RecDump
  | RecNat
  | RecCounters
  | RecGap
  | RecCheckpoint
  | RecDeleted
  | RecRemedy
  | RecState;

/** A recording line that could not be read. */
export interface RecordingLineError {
  error: string;
}

/** Parse one NDJSON line; never throws (a truncated last line after a crash is an error result, not a crash). */
export function parseRecordingLine(line: string): RecordingRecord | RecordingLineError {
  if (line.trim() === '') return { error: 'empty line' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'not JSON (truncated line?)' };
  }
  if (typeof value !== 'object' || value === null) return { error: 'not an object' };
  const rec = value as { k?: unknown; t?: unknown };
  if (typeof rec.t !== 'number') return { error: 'missing time `t`' };
  switch (rec.k) {
    case 'header':
    case 'line':
    case 'listed':
    case 'dump':
    case 'nat':
    case 'counters':
    case 'gap':
    case 'checkpoint':
    case 'state':
    case 'deleted':
    case 'remedy':
      return value as RecordingRecord;
    default:
      return { error: `unknown kind ${JSON.stringify(rec.k)}` };
  }
}
