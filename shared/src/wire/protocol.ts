/**
 * The one WebSocket protocol between `ctscope serve`/`replay` and the dashboard: a union keyed on `type`.
 * Server → client: hello, sync, delta, error. Client → server: subscribe, ping.
 */
import type { CountersView } from '../engine/counters-view.js';
import type { EngineBatch } from '../engine/engine-core.js';
import type { SourceState } from '../engine/engine-input.js';
import type { TimelineMarker } from '../engine/marker-log.js';
import type { RateBucket } from '../engine/rate-timeline.js';
import type { AutoRemedyMode } from '../engine/remedy-log.js';
import type { Alert } from '../flows/alert.js';
import type { FlowFilter } from '../flows/flow-filter.js';
import type { FlowReport } from '../flows/flow-report.js';
import type { NatChange, NatView } from '../nat/nat-types.js';

/** Bumped on any incompatible change; clients refuse a different major. */
export const PROTOCOL_VERSION = 1;

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
  alerts: Alert[];
}

/** Batched changes, at most about 10 per second: an engine batch after per-client filtering. */
export interface DeltaMessage extends Omit<EngineBatch, 'reset'> {
  type: 'delta';
  /** Sequence number; exactly one more than the previous sync/delta the client got. */
  seq: number;
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
