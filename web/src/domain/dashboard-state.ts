/** The dashboard's whole client-side state and the actions that change it (protocol messages plus local ones). */
import type {
  Alert,
  CountersView,
  FlowCounts,
  FlowReport,
  HelloMessage,
  NatChange,
  NatView,
  RateBucket,
  RecordingOutline,
  ReplayClockState,
  ServerMessage,
  SourceState,
  TimelineMarker,
} from '@ctscope/shared';

/** Where the data comes from: the server's live agent, the server's replay, or a recording classified here. */
export type DataMode = 'live' | 'replay' | 'local';

/** WebSocket state as the header shows it. */
export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Upper bounds that keep memory flat over hours (design: memory bounded). */
export const LIMITS = {
  /** Flows held of a recording replayed in this browser; beyond it destroyed, then healthy, then the oldest go. */
  flows: 100_000,
  /**
   * Flows held from a server (live or its replay), evicted the same way: the server's sync sends at most this
   * many, and holding more let an hour of 1k new flows/s grow the page to a 100k-row copy of the table.
   */
  serverFlows: 20_000,
  /** Per-second buckets held (one hour). */
  buckets: 3600,
  /** Timeline markers held. */
  markers: 2000,
  /** NAT changes held. */
  natChanges: 200,
  /** Alerts held. */
  alerts: 200,
} as const;

/** What the header says about the WebSocket. */
export interface ConnectionInfo {
  status: ConnectionStatus;
  /** Consecutive failed attempts since the last successful open. */
  attempt: number;
  /** When the next attempt is due, ms (while reconnecting). */
  retryAt?: number;
  /** Why the last connection ended. */
  reason?: string;
}

/** Everything the views render from. */
export interface DashboardState {
  mode: DataMode;
  connection: ConnectionInfo;
  /** The server's hello (node, allowDelete, intervals); for a local recording, a synthesised one. */
  hello?: Omit<HelloMessage, 'type'>;
  /** Sequence of the state held; -1 until the first sync. */
  seq: number;
  /** Data clock, ms: server clock live, replay clock in a replay. */
  now: number;
  /** Whether a sync has arrived since the last reset. */
  synced: boolean;
  /** Bumped by every sync and reset, so throttled views know the state was replaced rather than updated. */
  generation: number;
  /**
   * The window: the worst flows for the filter (the server sends deltas for these only), in last-update order.
   * Deltas change this map in place (copying 100k entries per delta was a main-thread cost in a flood);
   * `flowsVersion` counts those changes, and a sync replaces the map.
   */
  flows: ReadonlyMap<string, FlowReport>;
  /** The live critical flows among `flows`, kept in step with it, so the banner never scans the table. */
  critical: ReadonlyMap<string, FlowReport>;
  /** Bumped whenever `flows` changes (in place or replaced): what views memoise on. */
  flowsVersion: number;
  /** The server sent fewer flows than matched. */
  truncated: boolean;
  /** Flows matching the filter on the server (the window is the first of them). */
  total: number;
  /** Counts over the whole table, from the server. */
  counts?: FlowCounts;
  /** Per-second buckets, oldest first. */
  timeline: readonly RateBucket[];
  markers: readonly TimelineMarker[];
  nat?: NatView;
  natChanges: readonly NatChange[];
  counters?: CountersView;
  /** The reading before `counters`, for rates such as insert_failed/s. */
  prevCounters?: CountersView;
  eventLoss: number;
  sources: readonly SourceState[];
  alerts: readonly Alert[];
  /** Last error the server reported. */
  lastError?: string;
  /** A delta did not follow the held seq: the controller must ask for a fresh sync. */
  needsResync: boolean;
  /** Replay clock (server replay or in-browser), absent live. */
  replay?: ReplayClockState;
  /** Name of the recording being replayed in the browser. */
  recordingName?: string;
  /** The whole recording's outline (density per minute, NAT changes, first bad flow), when replaying. */
  replayOutline?: RecordingOutline;
}

/** Local actions beside the server's messages. */
export type LocalAction =
  | { type: 'connection'; connection: ConnectionInfo }
  | { type: 'nat-history'; changes: NatChange[] }
  | { type: 'reset'; mode: DataMode; recordingName?: string }
  | { type: 'replay-clock'; clock: ReplayClockState | undefined }
  | { type: 'replay-outline'; outline: RecordingOutline | undefined };

/** Everything the reducer accepts. */
export type DashboardAction = ServerMessage | LocalAction;

/** Empty state for a data mode. */
export function initialState(mode: DataMode = 'live'): DashboardState {
  return {
    mode,
    connection: { status: 'idle', attempt: 0 },
    seq: -1,
    now: 0,
    synced: false,
    generation: 0,
    flows: new Map(),
    critical: new Map(),
    flowsVersion: 0,
    truncated: false,
    total: 0,
    timeline: [],
    markers: [],
    natChanges: [],
    eventLoss: 0,
    sources: [],
    alerts: [],
    needsResync: false,
  };
}
