/**
 * The one WebSocket protocol between `ctscope serve`/`replay` and the dashboard: a union keyed on `type`.
 * A client holds a window, not the table: the worst rows for its filter, counts and rates. Server → client:
 * hello, sync, delta, rows, error, pong. Client → server: subscribe, range, ping.
 */
import type { CountersView } from '../engine/counters-view.js';
import type { EngineBatch } from '../engine/engine-core.js';
import type { SourceState } from '../engine/engine-input.js';
import type { TimelineMarker } from '../engine/marker-log.js';
import type { RateBucket } from '../engine/rate-timeline.js';
import type { Alert } from '../flows/alert.js';
import type { FlowFilter } from '../flows/flow-filter.js';
import type { FlowReport } from '../flows/flow-report.js';
import type { NatChange, NatView } from '../nat/nat-types.js';
import type { Severity, Verdict } from '../verdict/verdicts.js';

/**
 * Bumped on any incompatible change; clients refuse a different major.
 * 2: windowed view (sync carries the worst `window.rows` rows plus `total` and `counts`; deltas cover that
 * window; other rows on demand with `range` → `rows`).
 */
export const PROTOCOL_VERSION = 2;

/** Live flows by verdict and severity over the whole table (not just the window). */
export interface FlowCounts {
  /** Flows held (live and recently gone). */
  flows: number;
  /** Live flows. */
  live: number;
  /** Live flows by verdict. */
  verdict: Record<Verdict, number>;
  /** Live flows by severity. */
  severity: Record<Severity, number>;
}

/** First message on every connection. */
export interface HelloMessage {
  type: 'hello';
  /** Protocol version. */
  version: number;
  /** `live` for serve, `replay` for a recording. */
  mode: 'live' | 'replay';
  /** Random id of this server run; a client resumes (`?resume=SEQ&instance=ID`) only into the same run. */
  instance: string;
  /** Node identity. */
  node: { name: string; netns?: string };
  /** Whether DELETE /api/flows/:id is enabled (it also needs a token). */
  allowDelete: boolean;
  /** Poll intervals in ms, so the client can state detection bounds. */
  intervals: { suspectPollMs: number; natPollMs: number; countersPollMs: number };
  /** Source states. */
  sources: SourceState[];
  /** Window size a sync sends, and the largest `range` the server answers. */
  window: { rows: number; maxRange: number };
}

/** Full state: sent after hello, and again whenever the client fell behind. */
export interface SyncMessage {
  type: 'sync';
  /** Sequence number of the state this reflects; deltas continue from here. */
  seq: number;
  /** Server clock, ms (replay: the replay clock). */
  now: number;
  /** The window: the worst flows matching the client's filter, worst first, at most `window.rows`. */
  flows: FlowReport[];
  /** Flows matching the filter (the window is the first `flows.length` of them). */
  total: number;
  /** True when more flows matched than the window holds (`total > flows.length`): the rest by `range`. */
  truncated: boolean;
  /** Counts over the whole table. */
  counts: FlowCounts;
  /** Recent per-second rates, oldest first. */
  timeline: RateBucket[];
  /** Recent markers, oldest first. */
  markers: TimelineMarker[];
  /** Current NAT snapshot. */
  nat?: NatView;
  /** NAT change history (recent, oldest first), so a client needs no extra request. */
  natChanges: NatChange[];
  /** Latest counters. */
  counters?: CountersView;
  /** Event-loss count since start. */
  eventLoss: number;
  /** Source states. */
  sources: SourceState[];
  /** Recent alerts, oldest first (a flood turns deltas into syncs, and alerts must survive that). */
  alerts: Alert[];
}

/**
 * Batched changes, at most about 10 per second: an engine batch as one window sees it (`upserts` are rows that
 * enter or change inside the window; `removals` rows that leave it: gone, no longer matching, or pushed out).
 */
export interface DeltaMessage extends Omit<EngineBatch, 'reset'> {
  type: 'delta';
  /** Sequence number; exactly one more than the previous sync/delta the client got. */
  seq: number;
  /** Flows matching the filter, when it changed. */
  total?: number;
  /** Table counts, when they changed (at most about once a second). */
  counts?: FlowCounts;
}

/** Answer to `range`: rows `offset..offset+flows.length` of the filtered table, worst first, as of `seq`. */
export interface RowsMessage {
  type: 'rows';
  /** The request's id. */
  id: number;
  seq: number;
  offset: number;
  /** Flows matching the filter now. */
  total: number;
  flows: FlowReport[];
}

/** Something the client sent was wrong (never echoes what was sent). */
export interface ErrorMessage {
  type: 'error';
  /** What was wrong. */
  message: string;
  /** The `range` request it answers, if any. */
  id?: number;
}

/** Reply to ping. */
export interface PongMessage {
  type: 'pong';
  /** Server clock, ms. */
  now: number;
}

/** Everything the server sends. */
export type ServerMessage =
  | HelloMessage
  | SyncMessage
  | DeltaMessage
  | RowsMessage
  | ErrorMessage
  | PongMessage;

/** Set or change the client's filter; `resumeFrom` asks for deltas after that seq instead of a full sync. */
export interface SubscribeMessage {
  type: 'subscribe';
  /** Filter to apply server-side. */
  filter?: FlowFilter;
  /** Last seq the client saw, to resume after a reconnect. */
  resumeFrom?: number;
}

/** Ask for rows beyond the window (scrolling): `limit` rows from `offset` of the filtered table, worst first. */
export interface RangeMessage {
  type: 'range';
  /** Echoed in the answer, so a client can drop stale ones. */
  id: number;
  offset: number;
  /** At most hello's `window.maxRange`. */
  limit: number;
}

/** Keepalive. */
export interface PingMessage {
  type: 'ping';
}

/** Everything a client sends. */
export type ClientMessage = SubscribeMessage | RangeMessage | PingMessage;
