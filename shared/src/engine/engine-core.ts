/**
 * The engine state both live and replay share: it consumes source inputs (as an {@link EngineInput}) into the
 * flow store, markers, counters and source states, and batches changes for clients. Feeding it a recording
 * reproduces the live run, because the inputs are the same calls.
 */

import type { Alert } from '../flows/alert.js';
import type { FlowReport } from '../flows/flow-report.js';
import { FlowStore, type FlowStoreOptions, type FlowStoreState } from '../flows/flow-store.js';
import type { NatChange, NatSnapshot, NatView } from '../nat/nat-types.js';
import type { EventLossReason, ListedReading } from '../recording/recording-format.js';
import { type CountersView, counterJumps, countersView } from './counters-view.js';
import type { EngineInput, NodeCounters, SourceState } from './engine-input.js';
import { MarkerLog, type TimelineMarker } from './marker-log.js';
import type { RateBucket } from './rate-timeline.js';
import { type AutoRemedyAction, RemedyLog } from './remedy-log.js';

/** Everything that changed since the previous {@link EngineCore.flush}: a delta's body, before per-client filtering. */
export interface EngineBatch {
  /** Engine clock, ms (replay: the replay clock). */
  now: number;
  /** Flows added or changed (in a delta: those matching the client's filter). */
  upserts: FlowReport[];
  /** Flow ids removed (in a delta: also those no longer matching the filter). */
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
  /** Alerts raised or cleared. */
  alerts: Alert[];
  /** Source states that changed. */
  sources: SourceState[];
  /** Event-loss count since start, when it changed. */
  eventLoss?: number;
  /** The engine's state was rebuilt (replay seek backwards) or overflowed: clients need a full sync. */
  reset?: boolean;
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

/**
 * When a `conntrack -L` run started, for one handed over without it: a full dump's lines are dated from its start
 * (assumed 5 s before its end), a targeted poll's at its end.
 */
export function dumpStart(scope: 'full' | 'poll', at: number, startedAt?: number): number {
  return startedAt ?? (scope === 'full' ? at - 5_000 : at);
}

/** Alerts kept for syncs: a flood turns deltas into syncs, and alerts must survive that. */
export const RECENT_ALERTS = 200;

export class EngineCore implements EngineInput {
  readonly store: FlowStore;
  readonly markerLog = new MarkerLog();
  readonly remedyLog = new RemedyLog();
  private remedyAlerts: Alert[] = [];
  private readonly sourceStates = new Map<string, SourceState>();
  private changedSources = new Map<string, SourceState>();
  private natChanges: NatChange[] = [];
  private natChanged = false;
  private latestCounters: CountersView | undefined;
  private countersChanged = false;
  private lossCount = 0;
  private lossChanged = false;
  private readonly recentAlerts: Alert[] = [];
  /** Called after event loss, with when it happened: the live agent asks for a full dump. */
  onLoss?: (at: number) => void;

  constructor(storeOptions: Partial<FlowStoreOptions> = {}) {
    this.store = new FlowStore(storeOptions);
  }

  onEventLine(line: string, at: number): void {
    this.store.ingestEventLine(line, at);
  }

  onEventLoss(reason: EventLossReason, detail: string, at: number): void {
    this.store.advance(at);
    this.lossCount++;
    this.lossChanged = true;
    const text =
      reason === 'enobufs'
        ? 'event loss (ENOBUFS): state unknown until the next full dump'
        : reason === 'backlog'
          ? `event loss (ctscope fell behind): ${detail}`
          : `event source restarted: ${detail}`;
    this.markerLog.add({ t: at, kind: 'gap', reason, text });
    this.onLoss?.(at);
  }

  /** A marker for the server's own start/stop or recording pauses. */
  addGap(reason: TimelineMarker['reason'], text: string, at: number): void {
    this.markerLog.add({ t: at, kind: 'gap', reason, text });
  }

  onDump(scope: 'full' | 'poll', lines: string[], at: number, startedAt?: number): void {
    const from = dumpStart(scope, at, startedAt);
    this.onDumpLines(scope, lines, at, from);
    this.onDumpEnd(scope, at, from);
  }

  /** `readings`, when given, gets the quiet lines' `[key, timeout, mark]` at their index (for the recorder). */
  onDumpLines(
    scope: 'full' | 'poll',
    lines: readonly string[],
    at: number,
    startedAt: number,
    readings?: Array<ListedReading | undefined>,
  ): void {
    this.store.ingestDumpLines(scope, lines, at, startedAt, readings);
  }

  /** Quiet dump readings from a recording (`listed`). */
  onListed(readings: readonly ListedReading[], at: number): void {
    this.store.applyListed(readings, at);
  }

  onDumpEnd(scope: 'full' | 'poll', at: number, startedAt: number): void {
    // A flow seen after the dump started may postdate the kernel's walk of its bucket: only older ones retire.
    if (scope === 'full') this.store.endFullDump(at, startedAt);
  }

  /** We deleted this entry ourselves: it is gone now, whatever events the kernel does or doesn't send. */
  markDeleted(id: string, at: number): void {
    this.store.markGone(id, at);
  }

  /** An auto-remedy action or decision: kept per flow, marked on the timeline, a breaker raises an alert. */
  onRemedy(a: AutoRemedyAction): void {
    this.store.advance(a.t);
    this.remedyLog.add(a);
    // Rate-limited and changed decisions stay in the flow's log and the audit log, off the timeline.
    if (a.result === 'rate-limited' || a.result === 'changed') return;
    this.markerLog.add({ t: a.t, kind: 'auto-remedy', text: remedyMarkerText(a), flowId: a.flowId });
    if (a.result === 'breaker-open') {
      this.remedyAlerts.push({
        t: a.t,
        state: 'raised',
        kind: 'auto-remedy-breaker',
        flowId: a.flowId,
        service: a.service,
        verdict: a.verdict,
        text: a.reason,
      });
    }
  }

  onNat(snapshot: NatSnapshot, at: number): NatSnapshot | undefined {
    const before = this.store.current?.hash;
    const change = this.store.setNat(snapshot, at);
    if (change) {
      this.natChanges.push(change);
      this.markerLog.addNatChange(change);
    }
    if (this.store.current?.hash !== before) {
      this.natChanged = true;
      return this.store.current;
    }
    return undefined;
  }

  onCounters(c: NodeCounters): void {
    this.store.advance(c.at);
    const view = countersView(c);
    for (const m of counterJumps(this.latestCounters, view)) this.markerLog.add(m);
    this.latestCounters = view;
    this.countersChanged = true;
  }

  onSourceState(state: SourceState): void {
    this.sourceStates.set(state.name, state);
    this.changedSources.set(state.name, state);
  }

  sources(): SourceState[] {
    return [...this.sourceStates.values()];
  }

  counters(): CountersView | undefined {
    return this.latestCounters;
  }

  eventLoss(): number {
    return this.lossCount;
  }

  markers(): TimelineMarker[] {
    return this.markerLog.recent();
  }

  /** Recent alerts, oldest first (a copy). */
  alerts(): Alert[] {
    return [...this.recentAlerts];
  }

  natView(): NatView | undefined {
    return natViewOf(this.store);
  }

  /** Drop what a flush would send (keeping alerts in the recent list): for a core that no client reads. */
  discardPending(): void {
    const alerts = this.store.discardChanges();
    if (alerts.length > 0) {
      this.recentAlerts.push(...alerts);
      if (this.recentAlerts.length > RECENT_ALERTS)
        this.recentAlerts.splice(0, this.recentAlerts.length - RECENT_ALERTS);
    }
    this.store.timeline.discardChanged();
    this.markerLog.take();
    if (this.natChanges.length > 0) this.natChanges = [];
    if (this.changedSources.size > 0) this.changedSources = new Map();
  }

  /**
   * Everything a client could see, as plain data (JSON-safe): a replay checkpoint. Changes not yet flushed are
   * left out, since a restored core is always followed by a full sync.
   */
  exportState(): EngineCoreState {
    return {
      store: this.store.exportState(),
      markers: this.markerLog.exportState(),
      sources: this.sources(),
      counters: this.latestCounters ?? null,
      lossCount: this.lossCount,
      recentAlerts: [...this.recentAlerts],
    };
  }

  /** A core in the state of a checkpoint (taken over, not copied). */
  static fromState(state: EngineCoreState, storeOptions: Partial<FlowStoreOptions> = {}): EngineCore {
    const core = new EngineCore(storeOptions);
    core.store.importState(state.store);
    core.markerLog.importState(state.markers);
    for (const s of state.sources) core.sourceStates.set(s.name, s);
    core.latestCounters = state.counters ?? undefined;
    core.lossCount = state.lossCount;
    core.recentAlerts.push(...state.recentAlerts);
    return core;
  }

  /** Housekeeping plus the batch of changes since the last flush; a flood beyond `maxUpserts` becomes a reset. */
  flush(now: number, maxUpserts = 5000): EngineBatch {
    this.store.tick(now);
    const changes = this.store.takeChanges(maxUpserts);
    const alerts = this.remedyAlerts.length ? [...changes.alerts, ...this.remedyAlerts] : changes.alerts;
    this.recentAlerts.push(...alerts);
    if (this.recentAlerts.length > RECENT_ALERTS)
      this.recentAlerts.splice(0, this.recentAlerts.length - RECENT_ALERTS);
    const batch: EngineBatch = {
      now: this.store.now,
      upserts: changes.upserts,
      removals: changes.removals,
      rates: this.store.timeline.takeChanged(),
      markers: this.markerLog.take(),
      nat: this.natChanges,
      natView: this.natChanged ? this.natView() : undefined,
      counters: this.countersChanged ? this.latestCounters : undefined,
      alerts,
      sources: [...this.changedSources.values()],
      eventLoss: this.lossChanged ? this.lossCount : undefined,
      reset: changes.overflow || undefined,
    };
    this.natChanges = [];
    this.remedyAlerts = [];
    this.natChanged = false;
    this.countersChanged = false;
    this.changedSources = new Map();
    this.lossChanged = false;
    return batch;
  }
}

const REMEDY_WORD: Record<AutoRemedyAction['result'], string> = {
  deleted: 'deleted',
  'would-delete': 'would delete (dry-run)',
  failed: 'failed to delete',
  'rate-limited': 'rate-limited',
  'breaker-open': 'breaker open, stopped deleting',
  changed: 'skipped (entry changed)',
};

/** `auto-remedy deleted 10.42.0.33:52001 → 10.43.0.10:53 (kube-dns)`. */
export function remedyMarkerText(a: AutoRemedyAction): string {
  const o = a.orig;
  const svc = a.service ? ` (${a.service})` : '';
  return `auto-remedy ${REMEDY_WORD[a.result]} ${o.src}:${o.sport ?? '*'} → ${o.dst}:${o.dport ?? '*'}${svc}`;
}

/** An {@link EngineCore} as plain data: what a replay checkpoint holds. */
export interface EngineCoreState {
  store: FlowStoreState;
  markers: TimelineMarker[];
  sources: SourceState[];
  counters: CountersView | null;
  lossCount: number;
  recentAlerts: Alert[];
}
