/**
 * Classifies a recording in the browser with the shared core, no server needed: `line` records go through
 * parseConntrackLine → FlowTracker, `nat` records form the snapshot history, and every flow is judged with
 * reportFlow (classifyFlow) against the snapshot at its creation and the current one. It follows the server's replay
 * semantics (dumps retire absent flows, destroyed flows linger 120 s, unreplied flows age into `unanswered`)
 * and speaks the dashboard protocol: `sync()` for a full state, `takeDelta()` for changes since the last call.
 */
import {
  type CountersView,
  compareReports,
  type DeltaMessage,
  describeNatChange,
  diffSnapshots,
  type FlowRecord,
  type FlowReport,
  FlowTracker,
  type HelloMessage,
  isDiffEmpty,
  type NatChange,
  type NatSnapshot,
  type NatView,
  PROTOCOL_VERSION,
  parseConntrackLine,
  type RateBucket,
  type RecordingRecord,
  reportFlow,
  type SyncMessage,
  snapshotAt,
  type TimelineMarker,
  type TrackedFlow,
  type Verdict,
} from '@ctscope/shared';
import type { FlowDetail, NatAt } from './flow-detail.js';
import type { LoadedRecording } from './recording-file.js';

/** Bounds and tunables of the in-browser replayer. */
export interface ReplayerOptions {
  maxFlows: number;
  destroyedRetentionMs: number;
  maxHistory: number;
  unansweredAfterMs: number;
  /** Flows in one sync, worst first (as the server caps its sync). */
  syncFlowLimit: number;
  maxMarkers: number;
  maxBuckets: number;
}

/** The server's defaults, so a file replayed here reads like the same file replayed by `ctscope replay`. */
export const DEFAULT_REPLAYER_OPTIONS: ReplayerOptions = {
  maxFlows: 100_000,
  destroyedRetentionMs: 120_000,
  maxHistory: 16,
  unansweredAfterMs: 10_000,
  syncFlowLimit: 20_000,
  maxMarkers: 2000,
  maxBuckets: 3600,
};

/** Flows seen this recently may postdate the kernel's walk of their bucket: a full dump does not retire them. */
const DUMP_SLACK_MS = 5000;
const WATCHED_COUNTERS = ['insert_failed', 'drop', 'early_drop'] as const;

interface FlowState {
  flow: TrackedFlow;
  verdict: Verdict;
  report?: FlowReport;
}

/** Replays records up to a time and reports the state in protocol messages. */
export class RecordingReplayer {
  readonly start: number;
  readonly end: number;
  readonly node: string;
  private readonly options: ReplayerOptions;
  private tracker!: FlowTracker;
  private states!: Map<string, FlowState>;
  private idToKey!: Map<string, string>;
  private nat!: NatSnapshot[];
  private natSince!: number[];
  private natChanges!: NatChange[];
  private markers!: TimelineMarker[];
  private buckets!: RateBucket[];
  private counters: CountersView | undefined;
  private eventLoss = 0;
  private cursor = 0;
  private applied = Number.NEGATIVE_INFINITY;
  private now = 0;
  private settledSecond = Number.NEGATIVE_INFINITY;
  private pendingDump: { scope: 'full' | 'poll'; lines: string[] } | undefined;
  private dirty!: Set<string>;
  private pendingUnanswered!: Set<string>;
  // Change feed since the last takeDelta().
  private changedIds!: Set<string>;
  private removedIds!: Set<string>;
  private changedBuckets!: Set<RateBucket>;
  private newMarkers!: TimelineMarker[];
  private newNat!: NatChange[];
  private natChanged = false;
  private countersChanged = false;
  private lossChanged = false;

  constructor(
    private readonly rec: LoadedRecording,
    options: Partial<ReplayerOptions> = {},
  ) {
    this.options = { ...DEFAULT_REPLAYER_OPTIONS, ...options };
    this.start = rec.start;
    this.end = rec.end;
    this.node = rec.node;
    this.reset();
  }

  /** Replay time applied so far, ms. */
  get time(): number {
    return this.now;
  }

  private reset(): void {
    this.tracker = new FlowTracker({ maxHistory: this.options.maxHistory });
    this.states = new Map();
    this.idToKey = new Map();
    this.nat = [];
    this.natSince = [];
    this.natChanges = [];
    this.markers = [];
    this.buckets = [];
    this.counters = undefined;
    this.eventLoss = 0;
    this.cursor = 0;
    this.applied = Number.NEGATIVE_INFINITY;
    this.now = this.start;
    this.settledSecond = Number.NEGATIVE_INFINITY;
    this.pendingDump = undefined;
    this.dirty = new Set();
    this.pendingUnanswered = new Set();
    this.clearFeed();
  }

  private clearFeed(): void {
    this.changedIds = new Set();
    this.removedIds = new Set();
    this.changedBuckets = new Set();
    this.newMarkers = [];
    this.newNat = [];
    this.natChanged = false;
    this.countersChanged = false;
    this.lossChanged = false;
  }

  /** Apply every record up to `t`; returns true when it had to rebuild from the start (scrubbing backwards). */
  advanceTo(t: number): boolean {
    let rebuilt = false;
    if (t < this.applied) {
      this.reset();
      rebuilt = true;
    }
    const { records } = this.rec;
    while (this.cursor < records.length && records[this.cursor]!.t <= t) {
      const r = records[this.cursor]!;
      const second = Math.floor(r.t / 1000);
      // Judge once per second of recording time, as the server judges once per flush.
      if (second !== this.settledSecond && this.dirty.size > 0) this.settle(this.now);
      this.settledSecond = second;
      if (r.t > this.now) this.now = r.t;
      this.apply(r);
      this.cursor++;
    }
    if (t > this.now) this.now = t;
    this.settle(this.now);
    this.applied = t;
    return rebuilt;
  }

  private apply(r: RecordingRecord): void {
    switch (r.k) {
      case 'line':
        if (r.src === 'events') this.onEventLine(r.line, r.t);
        else this.pendingDump?.lines.push(r.line);
        return;
      case 'dump':
        if (r.phase === 'begin') this.pendingDump = { scope: r.scope, lines: [] };
        else if (this.pendingDump) {
          this.onDump(this.pendingDump.scope, this.pendingDump.lines, r.t);
          this.pendingDump = undefined;
        }
        return;
      case 'nat':
        this.onNat(r.snapshot, r.t);
        return;
      case 'counters':
        this.onCounters({
          at: r.t,
          count: r.count,
          max: r.max,
          fill: r.count !== undefined && r.max ? r.count / r.max : undefined,
          stats: r.stats,
        });
        return;
      case 'gap':
        if (r.reason === 'enobufs' || r.reason === 'source-restart') {
          this.eventLoss++;
          this.lossChanged = true;
          const text =
            r.reason === 'enobufs'
              ? 'event loss (ENOBUFS): state unknown until the next full dump'
              : `event source restarted: ${r.detail ?? ''}`;
          this.addMarker({ t: r.t, kind: 'gap', reason: r.reason, text });
        } else {
          this.addMarker({ t: r.t, kind: 'gap', reason: r.reason, text: r.detail ?? r.reason });
        }
        return;
      case 'checkpoint':
      case 'header':
        return;
    }
  }

  private onEventLine(line: string, at: number): void {
    const r = parseConntrackLine(line);
    if (r.kind !== 'flow') return;
    if (r.event) {
      const b = this.bucket(at);
      b.events[r.event]++;
      this.changedBuckets.add(b);
    }
    this.observe(r, at);
  }

  private onDump(scope: 'full' | 'poll', lines: readonly string[], at: number): void {
    const seen = new Set<string>();
    for (const line of lines) {
      const r = parseConntrackLine(line);
      if (r.kind === 'flow') seen.add(this.observe(r, at).key);
    }
    if (scope !== 'full') return;
    const startedAt = at - DUMP_SLACK_MS;
    for (const [key, st] of this.states) {
      if (st.flow.destroyedAt === undefined && !seen.has(key) && st.flow.lastSeen < startedAt) {
        this.tracker.markGone(key, at);
        this.dirty.add(key);
      }
    }
  }

  private onNat(snapshot: NatSnapshot, at: number): void {
    const prev = this.nat[this.nat.length - 1];
    if (prev && prev.hash === snapshot.hash) return;
    const stamped: NatSnapshot = { ...snapshot, takenAt: at };
    this.nat.push(stamped);
    this.natSince.push(at);
    this.natChanged = true;
    for (const key of this.states.keys()) this.dirty.add(key);
    if (!prev) return;
    const diff = diffSnapshots(prev, stamped);
    if (isDiffEmpty(diff)) return;
    const change: NatChange = { t: at, from: prev.hash, to: stamped.hash, diff };
    this.natChanges.push(change);
    this.newNat.push(change);
    for (const line of describeNatChange(change))
      this.addMarker({ t: at, kind: 'nat-change', text: `${line.service} ${line.text}` });
  }

  private onCounters(view: CountersView): void {
    const prev = this.counters;
    if (prev) {
      for (const k of WATCHED_COUNTERS) {
        const a = prev.stats[k];
        const b = view.stats[k];
        if (a !== undefined && b !== undefined && b > a)
          this.addMarker({ t: view.at, kind: 'counter-jump', text: `${k} +${b - a}` });
      }
    }
    this.counters = view;
    this.countersChanged = true;
  }

  private addMarker(m: TimelineMarker): void {
    this.markers.push(m);
    if (this.markers.length > this.options.maxMarkers) this.markers.shift();
    this.newMarkers.push(m);
  }

  private bucket(at: number): RateBucket {
    const t = Math.floor(at / 1000) * 1000;
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.t === t) return last;
    if (last && last.t > t) {
      for (let i = this.buckets.length - 1; i >= 0; i--)
        if (this.buckets[i]!.t === t) return this.buckets[i]!;
      return last;
    }
    const b: RateBucket = { t, events: { NEW: 0, UPDATE: 0, DESTROY: 0 }, bad: {} };
    this.buckets.push(b);
    if (this.buckets.length > this.options.maxBuckets) this.buckets.shift();
    return b;
  }

  private observe(rec: FlowRecord, at: number): TrackedFlow {
    const flow = this.tracker.observe(rec, at);
    if (!this.states.has(flow.key)) {
      this.states.set(flow.key, { flow, verdict: 'ok' });
      this.idToKey.set(reportId(flow), flow.key);
      if (this.states.size > this.options.maxFlows) this.evict();
    }
    this.dirty.add(flow.key);
    return flow;
  }

  /** Judge dirty flows at `now`, count the ones that turned bad, and do the server's housekeeping. */
  private settle(now: number): void {
    const retention = now - this.options.destroyedRetentionMs;
    for (const [key, st] of this.states) {
      if (st.flow.destroyedAt !== undefined && st.flow.destroyedAt < retention) this.drop(key);
    }
    const ageLimit = now - this.options.unansweredAfterMs;
    for (const key of this.pendingUnanswered) {
      const st = this.states.get(key);
      if (!st) {
        this.pendingUnanswered.delete(key);
        continue;
      }
      if (st.flow.firstSeen > ageLimit) break;
      this.pendingUnanswered.delete(key);
      this.dirty.add(key);
    }
    if (this.dirty.size === 0) return;
    const current = this.nat[this.nat.length - 1];
    for (const key of this.dirty) {
      const st = this.states.get(key);
      if (!st) continue;
      const report = reportFlow(st.flow, this.nat, current, now, {
        unansweredAfterMs: this.options.unansweredAfterMs,
      });
      if (report.verdict !== 'ok' && report.verdict !== st.verdict) {
        const b = this.bucket(now);
        b.bad[report.verdict] = (b.bad[report.verdict] ?? 0) + 1;
        this.changedBuckets.add(b);
      }
      st.verdict = report.verdict;
      st.report = report;
      if (st.flow.destroyedAt === undefined && st.flow.record.unreplied && report.verdict === 'ok') {
        this.pendingUnanswered.add(key);
      } else this.pendingUnanswered.delete(key);
      this.changedIds.add(st.report.id);
      this.removedIds.delete(st.report.id);
    }
    this.dirty = new Set();
  }

  private drop(key: string): void {
    const st = this.states.get(key);
    if (!st) return;
    const id = reportId(st.flow);
    this.states.delete(key);
    this.idToKey.delete(id);
    this.tracker.remove(key);
    this.pendingUnanswered.delete(key);
    this.dirty.delete(key);
    this.changedIds.delete(id);
    this.removedIds.add(id);
  }

  private evict(): void {
    const passes: Array<(st: FlowState) => boolean> = [
      (st) => st.flow.destroyedAt !== undefined,
      (st) => st.verdict === 'ok',
      () => true,
    ];
    for (const pass of passes) {
      for (const [key, st] of this.states) {
        if (this.states.size <= this.options.maxFlows) return;
        if (pass(st)) this.drop(key);
      }
    }
  }

  private natView(): NatView | undefined {
    const i = this.nat.length - 1;
    const s = this.nat[i];
    return s
      ? { source: s.source, hash: s.hash, since: this.natSince[i]!, frontends: s.frontends }
      : undefined;
  }

  /** The hello a server would send for this recording. */
  hello(): HelloMessage {
    return {
      type: 'hello',
      version: PROTOCOL_VERSION,
      mode: 'replay',
      instance: 'local',
      node: { name: this.node, netns: this.rec.netns },
      allowDelete: false,
      intervals: { suspectPollMs: 0, natPollMs: 0, countersPollMs: 0 },
      sources: this.sources(),
    };
  }

  private sources() {
    return [{ name: 'recording', state: 'running' as const, restarts: 0, since: this.start }];
  }

  /** Full state at the applied time; clears the change feed. */
  sync(seq: number): SyncMessage {
    const all: FlowReport[] = [];
    for (const st of this.states.values()) if (st.report) all.push(st.report);
    all.sort(compareReports);
    const limit = this.options.syncFlowLimit;
    this.clearFeed();
    return {
      type: 'sync',
      seq,
      now: this.now,
      flows: all.length > limit ? all.slice(0, limit) : all,
      truncated: all.length > limit,
      timeline: this.buckets.map(copyBucket),
      markers: [...this.markers],
      nat: this.natView(),
      natChanges: [...this.natChanges],
      counters: this.counters,
      eventLoss: this.eventLoss,
      sources: this.sources(),
    };
  }

  /** Changes since the last sync/delta. */
  takeDelta(seq: number): DeltaMessage {
    const upserts: FlowReport[] = [];
    for (const id of this.changedIds) {
      const st = this.states.get(this.idToKey.get(id) ?? '');
      if (st?.report) upserts.push(st.report);
    }
    const delta: DeltaMessage = {
      type: 'delta',
      seq,
      now: this.now,
      upserts,
      removals: [...this.removedIds],
      rates: [...this.changedBuckets].map(copyBucket),
      markers: this.newMarkers,
      nat: this.newNat,
      natView: this.natChanged ? this.natView() : undefined,
      counters: this.countersChanged ? this.counters : undefined,
      alerts: [],
      sources: [],
      eventLoss: this.lossChanged ? this.eventLoss : undefined,
    };
    this.clearFeed();
    return delta;
  }

  /** NAT changes up to the applied time. */
  changes(): NatChange[] {
    return [...this.natChanges];
  }

  /** One flow's lifecycle and rules, shaped like GET /api/flows/:id. */
  detail(id: string): FlowDetail | undefined {
    const st = this.states.get(this.idToKey.get(id) ?? '');
    if (!st?.report) return undefined;
    const { flow, report } = st;
    const pick = (s: NatSnapshot | undefined): NatAt | null =>
      s
        ? {
            hash: s.hash,
            takenAt: s.takenAt,
            frontend: s.frontends.find((f) => f.key === report.frontend) ?? null,
          }
        : null;
    return {
      flow: report,
      history: [...flow.history],
      nat: {
        atCreation: pick(flow.createdAt !== undefined ? snapshotAt(this.nat, flow.createdAt) : undefined),
        current: pick(this.nat[this.nat.length - 1]),
      },
      remedy: report.remedy,
    };
  }

  /** Every flow report held at the applied time (unsorted). */
  reports(): FlowReport[] {
    const out: FlowReport[] = [];
    for (const st of this.states.values()) if (st.report) out.push(st.report);
    return out;
  }
}

function reportId(flow: TrackedFlow): string {
  return flow.record.id !== undefined ? String(flow.record.id) : flow.key;
}

function copyBucket(b: RateBucket): RateBucket {
  return { t: b.t, events: { ...b.events }, bad: { ...b.bad } };
}
