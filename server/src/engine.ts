/** What the HTTP/WebSocket layer needs from a data engine; the live agent and the replayer both provide it. */
import type {
  Alert,
  CountersView,
  FlowReport,
  NatChange,
  NatView,
  RateBucket,
  SourceState,
  TimelineMarker,
} from '@ctscope/shared';
import type { FlowStore } from './store/flow-store.js';

/** Everything that changed since the previous {@link Engine.flush}. */
export interface EngineBatch {
  /** Engine clock, ms. */
  now: number;
  upserts: FlowReport[];
  removals: string[];
  rates: RateBucket[];
  markers: TimelineMarker[];
  nat: NatChange[];
  natView?: NatView;
  counters?: CountersView;
  alerts: Alert[];
  sources: SourceState[];
  eventLoss?: number;
  /** The engine's state was rebuilt (replay seek backwards): clients need a full sync. */
  reset?: boolean;
}

/** Result of deleting one entry. */
export interface DeleteResult {
  ok: boolean;
  /** The exact argv that was run. */
  command: string[];
  /** conntrack's message. */
  message: string;
}

/** A source of flows and node state (live node, or a recording). */
export interface Engine {
  readonly mode: 'live' | 'replay';
  readonly node: { name: string; netns?: string };
  readonly store: FlowStore;
  readonly intervals: { suspectPollMs: number; natPollMs: number; countersPollMs: number };
  /** Whether deletion is enabled (it also needs a token). */
  readonly allowDelete: boolean;
  sources(): SourceState[];
  counters(): CountersView | undefined;
  eventLoss(): number;
  markers(): TimelineMarker[];
  natView(): NatView | undefined;
  /** Collect changes; called by the hub about 10 times a second. */
  flush(): EngineBatch;
  /** Delete one entry with its exact `conntrack -D`; only when allowDelete. */
  deleteFlow(report: FlowReport): Promise<DeleteResult>;
  /** Extra state for /api/stats (recording, dump scheduler, replay clock...). */
  extraStats(): Record<string, unknown>;
}

/** Turn the store's current snapshot into the client view. */
export function natViewOf(store: FlowStore): NatView | undefined {
  const v = store.nat[store.nat.length - 1];
  if (!v) return undefined;
  return {
    source: v.snapshot.source,
    hash: v.snapshot.hash,
    since: v.since,
    frontends: v.snapshot.frontends,
  };
}
