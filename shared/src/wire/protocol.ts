/**
 * The one WebSocket protocol between `ctscope serve`/`replay` and the dashboard: a union keyed on `type`.
 * A client holds a window, not the table: the worst rows for its filter, counts and rates. Server → client:
 * hello, sync, delta, rows, error, pong. Client → server: subscribe, range, ping.
 */
import type { FlowReport } from '../flows/flow-report.js';
import type { Frontend, NatDiff, NatSourceKind } from '../nat/nat-types.js';
import type { GapReason } from '../recording/recording-format.js';
import type { Severity, Verdict } from '../verdict/verdict-types.js';

/**
 * Bumped on any incompatible change; clients refuse a different major.
 * 2: windowed view (sync carries the worst `window.rows` rows plus `total` and `counts`; deltas cover that
 * window; other rows on demand with `range` → `rows`).
 */
export const PROTOCOL_VERSION = 2;

/** A supervised node source's state. */
export interface SourceState {
  /** Source name: `events`, `dump`, `poll`, `nat`, `counters`. */
  name: string;
  /** Lifecycle state. */
  state: 'starting' | 'running' | 'failed' | 'stopped' | 'disabled';
  /** Last error message, if any. */
  lastError?: string;
  /** Restarts so far. */
  restarts: number;
  /** When the state last changed, ms. */
  since: number;
}

/** Per-second rates for the timeline. */
export interface RateBucket {
  /** Second start, ms since the epoch. */
  t: number;
  /** Events by type in that second. */
  events: { NEW: number; UPDATE: number; DESTROY: number };
  /** Flows that turned bad in that second, by verdict. */
  bad: Partial<Record<Exclude<Verdict, 'ok'>, number>>;
}

/** Something to mark on the timeline. */
export interface TimelineMarker {
  /** When, ms. */
  t: number;
  /** Kind: a NAT change, a gap in what was observed, or a counter jump. */
  kind: 'nat-change' | 'gap' | 'counter-jump';
  /** Short label, e.g. `kube-system/kube-dns:dns endpoints removed`. */
  text: string;
  /** For gaps: why. */
  reason?: GapReason;
}

/** Table fill and conntrack statistics. */
export interface CountersView {
  /** When read, ms. */
  at: number;
  /** Entries in the kernel table. */
  count?: number;
  /** nf_conntrack_max. */
  max?: number;
  /** count / max, 0..1. */
  fill?: number;
  /** Sums over CPUs from `conntrack -S`. */
  stats: Record<string, number>;
}

/** The NAT snapshot as clients see it. */
export interface NatView {
  /** Rule source. */
  source: NatSourceKind;
  /** Content hash. */
  hash: string;
  /** When this version was first seen, ms. */
  since: number;
  /** Frontends and their endpoints. */
  frontends: Frontend[];
}

/** A change between two NAT versions. */
export interface NatChange {
  /** When it was seen, ms. */
  t: number;
  /** Hash before. */
  from: string;
  /** Hash after. */
  to: string;
  /** What changed. */
  diff: NatDiff;
}

/** A critical flow appeared (or an alert cleared). */
export interface Alert {
  /** When, ms. */
  t: number;
  /** `raised` when a flow turned critical, `cleared` when it stopped being critical or went away. */
  state: 'raised' | 'cleared';
  /** Flow id. */
  flowId: string;
  /** Service name, if any. */
  service?: string;
  /** Verdict that raised it. */
  verdict: Verdict;
}

/** Server-side filter a client subscribes with; every field narrows. */
export interface FlowFilter {
  /** Only these verdicts. */
  verdict?: Verdict[];
  /** Only these severities. */
  severity?: Severity[];
  /** Any tuple address equals this. */
  ip?: string;
  /** Any tuple port equals this. */
  port?: number;
  /** Service name contains this. */
  service?: string;
  /** Free text over tuples, service, verdict and reason. */
  text?: string;
}

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
  alerts?: Alert[];
}

/** Batched changes, at most about 10 per second. */
export interface DeltaMessage {
  type: 'delta';
  /** Sequence number; exactly one more than the previous sync/delta the client got. */
  seq: number;
  /** Server clock, ms. */
  now: number;
  /** Window rows added or changed (matching the filter and ranking inside the window). */
  upserts: FlowReport[];
  /** Window rows removed: gone, no longer matching the filter, or pushed out by worse ones. */
  removals: string[];
  /** Flows matching the filter, when it changed. */
  total?: number;
  /** Table counts, when they changed (at most about once a second). */
  counts?: FlowCounts;
  /** Completed or updated per-second buckets. */
  rates: RateBucket[];
  /** New markers. */
  markers: TimelineMarker[];
  /** NAT changes. */
  nat: NatChange[];
  /** Current NAT view, when it changed. */
  natView?: NatView;
  /** Latest counters, when read. */
  counters?: CountersView;
  /** Alerts. */
  alerts: Alert[];
  /** Source states that changed. */
  sources: SourceState[];
  /** Event-loss count since start, when it changed. */
  eventLoss?: number;
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
