/**
 * Replays a recording in the browser, no server needed, with the server's own engine: a shared
 * {@link RecordingPlayer} feeds an {@link EngineCore} (FlowStore, markers, counters), so a file replayed here reads
 * like the same file replayed by `ctscope replay`. It speaks the dashboard protocol: `sync()` for a full state,
 * `takeDelta()` for changes since the last call.
 */
import {
  type Alert,
  type CountersView,
  DEFAULT_STORE_OPTIONS,
  type DeltaMessage,
  type EngineBatch,
  type EngineCore,
  type FlowDetail,
  type FlowReport,
  type FlowStoreOptions,
  flowDetail,
  type HelloMessage,
  helloMessage,
  type LoadedRecording,
  type NatChange,
  type NatView,
  type RateBucket,
  REPLAY_INTERVALS,
  RecordingPlayer,
  replaySources,
  type SourceState,
  type SyncMessage,
  syncMessage,
  type TimelineMarker,
} from '@ctscope/shared';

/** The engine's store bounds plus the sync size. */
export interface ReplayerOptions extends FlowStoreOptions {
  /** Flows in one sync, worst first (as the server caps its sync). */
  syncFlowLimit: number;
}

/** The server's store defaults, with a table bound a browser tab can hold. */
export const DEFAULT_REPLAYER_OPTIONS: ReplayerOptions = {
  ...DEFAULT_STORE_OPTIONS,
  maxFlows: 100_000,
  syncFlowLimit: 20_000,
};

/** Changes gathered from the engine's flushes since the last sync or delta. */
class Feed {
  upserts = new Map<string, FlowReport>();
  removals = new Set<string>();
  rates = new Map<number, RateBucket>();
  markers: TimelineMarker[] = [];
  nat: NatChange[] = [];
  alerts: Alert[] = [];
  natView: NatView | undefined;
  counters: CountersView | undefined;
  eventLoss: number | undefined;

  add(b: EngineBatch): void {
    for (const id of b.removals) {
      this.upserts.delete(id);
      this.removals.add(id);
    }
    for (const f of b.upserts) {
      this.removals.delete(f.id);
      this.upserts.set(f.id, f);
    }
    for (const r of b.rates) this.rates.set(r.t, r);
    this.markers.push(...b.markers);
    this.nat.push(...b.nat);
    this.alerts.push(...b.alerts);
    this.natView = b.natView ?? this.natView;
    this.counters = b.counters ?? this.counters;
    this.eventLoss = b.eventLoss ?? this.eventLoss;
  }
}

/** Replays records up to a time and reports the state in protocol messages. */
export class RecordingReplayer {
  readonly start: number;
  readonly end: number;
  readonly node: string;
  private readonly options: ReplayerOptions;
  private readonly player: RecordingPlayer;
  private now: number;
  private feed = new Feed();

  constructor(
    private readonly rec: LoadedRecording,
    options: Partial<ReplayerOptions> = {},
  ) {
    this.options = { ...DEFAULT_REPLAYER_OPTIONS, ...options };
    const { syncFlowLimit: _, ...storeOptions } = this.options;
    this.start = rec.start;
    this.end = rec.end;
    this.node = rec.node;
    this.now = rec.start;
    this.player = new RecordingPlayer(rec.records, storeOptions);
  }

  private get core(): EngineCore {
    return this.player.core;
  }

  /** Replay time applied so far, ms. */
  get time(): number {
    return this.now;
  }

  /**
   * Apply every record up to `t` and judge the result; returns true when the caller needs a full sync instead of
   * a delta: the engine rebuilt from the start (scrubbing backwards) or more flows changed than a delta carries.
   */
  advanceTo(t: number): boolean {
    const rebuilt = this.player.advanceTo(t);
    this.player.reset = false;
    if (rebuilt) {
      this.now = this.start;
      this.feed = new Feed();
    }
    if (t > this.now) this.now = t;
    const batch = this.core.flush(this.now);
    this.feed.add(batch);
    return rebuilt || batch.reset === true;
  }

  /** The hello a server would send for this recording (`instance` names this page's replay). */
  hello(): HelloMessage {
    return helloMessage({
      mode: 'replay',
      instance: 'local',
      node: { name: this.node, netns: this.rec.netns },
      allowDelete: false,
      intervals: REPLAY_INTERVALS,
      sources: this.sources(),
      window: { rows: this.options.syncFlowLimit, maxRange: this.options.syncFlowLimit },
    });
  }

  private sources(): SourceState[] {
    return replaySources(this.start);
  }

  /** Full state at the applied time, as the server's sync; clears the change feed. */
  sync(seq: number): SyncMessage {
    this.feed = new Feed();
    return syncMessage(this.core, { seq, flowLimit: this.options.syncFlowLimit, sources: this.sources() });
  }

  /** Changes since the last sync/delta. */
  takeDelta(seq: number): DeltaMessage {
    const f = this.feed;
    this.feed = new Feed();
    return {
      type: 'delta',
      seq,
      now: this.now,
      upserts: [...f.upserts.values()],
      removals: [...f.removals],
      rates: [...f.rates.values()],
      markers: f.markers,
      nat: f.nat,
      natView: f.natView,
      counters: f.counters,
      alerts: f.alerts,
      sources: [],
      eventLoss: f.eventLoss,
    };
  }

  /** NAT changes up to the applied time. */
  changes(): NatChange[] {
    return [...this.core.store.natChanges];
  }

  /** One flow's lifecycle and rules, as GET /api/flows/:id answers. */
  detail(id: string): FlowDetail | undefined {
    return flowDetail(this.core, id);
  }

  /** Every flow report held at the applied time (unsorted). */
  reports(): FlowReport[] {
    return this.core.store.reports();
  }
}
