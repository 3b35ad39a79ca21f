/** What the HTTP/WebSocket layer needs from a data engine; the live agent and the replayer both provide it. */
import type {
  CountersView,
  EngineBatch,
  FlowReport,
  FlowStore,
  NatView,
  SourceState,
  TimelineMarker,
} from '@ctscope/shared';

export { type EngineBatch, natViewOf } from '@ctscope/shared';

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
