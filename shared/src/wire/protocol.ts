/**
 * The one WebSocket protocol between `ctscope serve`/`replay` and the dashboard: a union keyed on `type`.
 * Server → client: hello, sync, delta, error. Client → server: subscribe, ping.
 */
import type { FlowReport } from '../flows/flow-report.js';
import type { Frontend, NatDiff, NatSourceKind } from '../nat/nat-types.js';
import type { GapReason } from '../recording/recording-format.js';
import type { Severity, Verdict } from '../verdict/verdict-types.js';

/** Bumped on any incompatible change; clients refuse a different major. */
export const PROTOCOL_VERSION = 1;

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
  /** Kind: a NAT change, a gap in what was observed, a counter jump, or an auto-remedy action. */
  kind: 'nat-change' | 'gap' | 'counter-jump' | 'auto-remedy';
  /** Short label, e.g. `kube-system/kube-dns:dns endpoints removed`. */
  text: string;
  /** For gaps: why. */
  reason?: GapReason;
  /** For auto-remedy markers: the flow acted on. */
  flowId?: string;
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
  /** `flow` (a flow turned critical; the default) or `auto-remedy-breaker` (deleting did not help). */
  kind?: 'flow' | 'auto-remedy-breaker';
  /** For breaker alerts: what happened, in words. */
  text?: string;
}

/** `ctscope serve --auto-remedy`: off, on, or on without deleting (`--auto-remedy-dry-run`). */
export type AutoRemedyMode = 'off' | 'on' | 'dry-run';

/**
 * What auto-remedy did, or decided not to do, for one flow: `deleted`; `would-delete` (dry-run); `failed` (the
 * delete command failed); `rate-limited`; `breaker-open` (the tuple keeps coming back stuck); `changed` (the
 * kernel's entry was no longer the one judged when re-checked just before deleting).
 */
export type AutoRemedyResult =
  | 'deleted'
  | 'would-delete'
  | 'failed'
  | 'rate-limited'
  | 'breaker-open'
  | 'changed';

/** Every result, for counters and metrics. */
export const AUTO_REMEDY_RESULTS: readonly AutoRemedyResult[] = [
  'deleted',
  'would-delete',
  'failed',
  'rate-limited',
  'breaker-open',
  'changed',
];

/** One auto-remedy action or decision (recorded, audited, streamed as a marker, kept per flow). */
export interface AutoRemedyAction {
  /** When, ms. */
  t: number;
  /** Flow id acted on. */
  flowId: string;
  /** What happened. */
  result: AutoRemedyResult;
  /** The entry's original tuple. */
  orig: { proto: string; src: string; dst: string; sport?: number; dport?: number };
  /** Its verdict when judged. */
  verdict: Verdict;
  /** Its service, if any. */
  service?: string;
  /** Why, in words. */
  reason: string;
  /** The delete argv that was run (deleted, failed) or would have been (would-delete). */
  argv?: string[];
}

/** GET /api/flows/:id `autoRemedy`: what auto-remedy did to this flow and which entry took its tuple after. */
export interface FlowAutoRemedyView {
  /** Actions and decisions for this flow, oldest first. */
  actions: AutoRemedyAction[];
  /** The entry the client's next packet created with the same tuple after a delete, if seen. */
  successor: {
    id: string;
    verdict: Verdict;
    severity: Severity;
    createdAt?: number;
    firstSeen: number;
  } | null;
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
  /** Whether ctscope deletes confirmed stuck entries by itself (absent from older servers: off). */
  autoRemedy?: AutoRemedyMode;
  /** Poll intervals in ms, so the client can state detection bounds. */
  intervals: { suspectPollMs: number; natPollMs: number; countersPollMs: number };
  /** Source states. */
  sources: SourceState[];
}

/** Full state: sent after hello, and again whenever the client fell behind. */
export interface SyncMessage {
  type: 'sync';
  /** Sequence number of the state this reflects; deltas continue from here. */
  seq: number;
  /** Server clock, ms (replay: the replay clock). */
  now: number;
  /** Flows matching the client's filter (capped; see `truncated`). */
  flows: FlowReport[];
  /** True when more flows matched than were sent. */
  truncated: boolean;
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
  /** Flows added or changed (matching the filter). */
  upserts: FlowReport[];
  /** Flow ids removed, or no longer matching the filter. */
  removals: string[];
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

/** Something the client sent was wrong. */
export interface ErrorMessage {
  type: 'error';
  /** What was wrong. */
  message: string;
}

/** Reply to ping. */
export interface PongMessage {
  type: 'pong';
  /** Server clock, ms. */
  now: number;
}

/** Everything the server sends. */
export type ServerMessage = HelloMessage | SyncMessage | DeltaMessage | ErrorMessage | PongMessage;

/** Set or change the client's filter; `resumeFrom` asks for deltas after that seq instead of a full sync. */
export interface SubscribeMessage {
  type: 'subscribe';
  /** Filter to apply server-side. */
  filter?: FlowFilter;
  /** Last seq the client saw, to resume after a reconnect. */
  resumeFrom?: number;
}

/** Keepalive. */
export interface PingMessage {
  type: 'ping';
}

/** Everything a client sends. */
export type ClientMessage = SubscribeMessage | PingMessage;
