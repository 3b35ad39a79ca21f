/** What the HTTP/WebSocket layer needs from a data engine; the live agent and the replayer both provide it. */
import type { EngineBatch, EngineCore, FlowReport, SourceState } from '@ctscope/shared';

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
  /** The live-table engine (store, markers, counters, NAT view); replaced when a replay rebuilds. */
  readonly core: EngineCore;
  readonly intervals: { suspectPollMs: number; natPollMs: number; countersPollMs: number };
  /** Whether deletion is enabled (it also needs a token). */
  readonly allowDelete: boolean;
  /** Source states (a replay reports itself instead of the recorded node's sources). */
  sources(): SourceState[];
  /**
   * Collect changes; called by the hub about 10 times a second. More than `maxUpserts` changed flows make the
   * batch a reset instead (clients take a sync); 0 when nobody listens, so no flow views are built for nobody.
   */
  flush(maxUpserts?: number): EngineBatch;
  /** Delete one entry with its exact `conntrack -D`; only when allowDelete. */
  deleteFlow(report: FlowReport): Promise<DeleteResult>;
  /** Extra state for /api/stats (recording, dump scheduler, replay clock...). */
  extraStats(): Record<string, unknown>;
}

/** An engine around a bare core with no node sources: for tests and benchmarks that feed the core directly. */
export function coreOnlyEngine(core: EngineCore, name = 'test'): Engine {
  return {
    mode: 'live',
    node: { name },
    core,
    intervals: { suspectPollMs: 2000, natPollMs: 1000, countersPollMs: 2000 },
    allowDelete: false,
    sources: () => core.sources(),
    flush: (maxUpserts) => core.flush(Date.now(), maxUpserts),
    deleteFlow: async () => ({ ok: false, command: [], message: 'no node behind this engine' }),
    extraStats: () => ({}),
  };
}
