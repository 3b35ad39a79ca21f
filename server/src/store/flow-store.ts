/** The live flow table: ingests events, dumps and NAT snapshots, keeps verdicts current, and tracks changes. */
import {
  type Alert,
  type Classification,
  classifyFlow,
  countTimeoutResets,
  diffSnapshots,
  type FlowRecord,
  type FlowReport,
  FlowTracker,
  isDiffEmpty,
  type NatChange,
  type NatSnapshot,
  parseConntrackLine,
  snapshotAt,
  type TrackedFlow,
  type Verdict,
} from '@ctscope/shared';
import { RateTimeline } from './rate-timeline.js';

export interface FlowStoreOptions {
  /** Hard cap on tracked flows; beyond it the oldest destroyed, then oldest healthy flows are evicted. */
  maxFlows: number;
  /** How long destroyed flows stay visible, ms. */
  destroyedRetentionMs: number;
  /** History entries per flow. */
  maxHistory: number;
  /** NAT versions kept. */
  maxNatVersions: number;
  /** UNREPLIED age that makes a healthy flow `unanswered`, ms. */
  unansweredAfterMs: number;
  /** Max suspects handed to the poller. */
  maxSuspects: number;
}

export const DEFAULT_STORE_OPTIONS: FlowStoreOptions = {
  maxFlows: 300_000,
  destroyedRetentionMs: 120_000,
  maxHistory: 16,
  maxNatVersions: 200,
  unansweredAfterMs: 10_000,
  maxSuspects: 256,
};

interface FlowState {
  flow: TrackedFlow;
  verdict: Classification;
}

/** Changes since the last {@link FlowStore.takeChanges}. */
export interface StoreChanges {
  upserts: FlowReport[];
  removals: string[];
  alerts: Alert[];
}

/** A NAT version and when it was first seen. */
export interface NatVersion {
  snapshot: NatSnapshot;
  since: number;
}

/** Counts the store exposes for /api/stats and /metrics. */
export interface StoreStats {
  flows: number;
  live: number;
  evicted: number;
  parseErrors: number;
  lastParseError?: string;
  events: { NEW: number; UPDATE: number; DESTROY: number };
  byVerdict: Record<Verdict, number>;
  bySeverity: Record<string, number>;
}

const BAD: ReadonlySet<Verdict> = new Set(['no-dnat', 'stale-endpoint', 'no-endpoints']);

/** Owns the flows. Pure in-memory; time comes in as arguments so live and replay behave the same. */
export class FlowStore {
  readonly options: FlowStoreOptions;
  private tracker: FlowTracker;
  private readonly states = new Map<string, FlowState>();
  private dirty = new Set<string>();
  private removed = new Set<string>();
  private alerts: Alert[] = [];
  /** Flows still UNREPLIED and judged ok, in first-seen order, to re-judge as they age into `unanswered`. */
  private readonly pendingUnanswered = new Set<string>();
  readonly nat: NatVersion[] = [];
  readonly natChanges: NatChange[] = [];
  readonly timeline = new RateTimeline(3600);
  private evicted = 0;
  private parseErrors = 0;
  private lastParseError: string | undefined;
  private readonly events = { NEW: 0, UPDATE: 0, DESTROY: 0 };
  now = 0;

  constructor(options: Partial<FlowStoreOptions> = {}) {
    this.options = { ...DEFAULT_STORE_OPTIONS, ...options };
    this.tracker = new FlowTracker({ maxHistory: this.options.maxHistory });
  }

  /** Current NAT snapshot. */
  get current(): NatSnapshot | undefined {
    return this.nat[this.nat.length - 1]?.snapshot;
  }

  /** One raw `conntrack -E` line. Bad lines are counted, never thrown. */
  ingestEventLine(line: string, at: number): void {
    this.advance(at);
    const r = parseConntrackLine(line);
    if (r.kind === 'flow') {
      if (r.event) {
        this.events[r.event]++;
        this.timeline.countEvent(at, r.event);
      }
      this.observe(r, at);
    } else if (r.kind === 'error') {
      this.parseErrors++;
      this.lastParseError = `${r.reason}: ${r.raw.slice(0, 200)}`;
    }
  }

  /** A `conntrack -L` run. A full dump also retires live flows it no longer lists. */
  ingestDump(scope: 'full' | 'poll', lines: readonly string[], at: number, startedAt = at): void {
    this.advance(at);
    const seen = new Set<string>();
    for (const line of lines) {
      const r = parseConntrackLine(line);
      if (r.kind === 'flow') seen.add(this.observe(r, at).key);
      else if (r.kind === 'error') {
        this.parseErrors++;
        this.lastParseError = `${r.reason}: ${r.raw.slice(0, 200)}`;
      }
    }
    if (scope !== 'full') return;
    for (const [key, st] of this.states) {
      if (st.flow.destroyedAt === undefined && !seen.has(key) && st.flow.lastSeen < startedAt) {
        this.tracker.markGone(key, at);
        this.touch(key);
      }
    }
  }

  /** A NAT snapshot; returns the change when its hash differs from the current one. */
  setNat(snapshot: NatSnapshot, at: number): NatChange | undefined {
    this.advance(at);
    const prev = this.current;
    if (prev && prev.hash === snapshot.hash) return undefined;
    const stamped: NatSnapshot = { ...snapshot, takenAt: at };
    this.nat.push({ snapshot: stamped, since: at });
    if (this.nat.length > this.options.maxNatVersions) this.nat.shift();
    // Verdicts depend on the rules: re-judge every flow.
    for (const key of this.states.keys()) this.touch(key);
    if (!prev) return undefined;
    const diff = diffSnapshots(prev, stamped);
    if (isDiffEmpty(diff)) return undefined;
    const change: NatChange = { t: at, from: prev.hash, to: stamped.hash, diff };
    this.natChanges.push(change);
    if (this.natChanges.length > this.options.maxNatVersions) this.natChanges.shift();
    return change;
  }

  private observe(rec: FlowRecord, at: number): TrackedFlow {
    const flow = this.tracker.observe(rec, at);
    if (!this.states.has(flow.key)) {
      this.states.set(flow.key, { flow, verdict: UNJUDGED });
      if (this.states.size > this.options.maxFlows) this.evict();
    }
    this.touch(flow.key);
    return flow;
  }

  private touch(key: string): void {
    this.dirty.add(key);
  }

  /** Move the clock; retire old destroyed flows and re-judge flows ageing into `unanswered`. */
  advance(at: number): void {
    if (at > this.now) this.now = at;
  }

  /** Periodic housekeeping: retention and ageing. Call about once a second. */
  tick(now: number): void {
    this.advance(now);
    const limit = this.now - this.options.destroyedRetentionMs;
    for (const [key, st] of this.states) {
      if (st.flow.destroyedAt !== undefined && st.flow.destroyedAt < limit) this.drop(key);
    }
    const ageLimit = this.now - this.options.unansweredAfterMs;
    for (const key of this.pendingUnanswered) {
      const st = this.states.get(key);
      if (!st) {
        this.pendingUnanswered.delete(key);
        continue;
      }
      if (st.flow.firstSeen > ageLimit) break;
      this.pendingUnanswered.delete(key);
      this.touch(key);
    }
  }

  private drop(key: string): void {
    this.states.delete(key);
    this.tracker.remove(key);
    this.pendingUnanswered.delete(key);
    this.dirty.delete(key);
    this.judged.delete(key);
    this.removed.add(key);
  }

  private evict(): void {
    // Oldest destroyed first, then the oldest healthy; bad flows are what the tool is for, so they go last.
    for (const pass of [isDestroyed, isHealthy, () => true]) {
      for (const [key, st] of this.states) {
        if (this.states.size <= this.options.maxFlows) return;
        if (pass(st)) {
          this.drop(key);
          this.evicted++;
        }
      }
    }
  }

  /** Keys judged since the last takeChanges, to report as upserts. */
  private judged = new Set<string>();

  /** Re-judge dirty flows now (REST reads call this so they never see a stale or unjudged verdict). */
  private settle(): void {
    if (this.dirty.size === 0) return;
    for (const key of this.dirty) {
      const st = this.states.get(key);
      if (!st) continue;
      const before = st.verdict;
      st.verdict = this.judge(st.flow);
      this.trackAlert(st, before);
      if (st.verdict.verdict !== 'ok' && before.verdict !== st.verdict.verdict) {
        this.timeline.countBad(this.now, st.verdict.verdict);
      }
      if (st.flow.destroyedAt === undefined && st.flow.record.unreplied && st.verdict.verdict === 'ok') {
        this.pendingUnanswered.add(key);
      } else {
        this.pendingUnanswered.delete(key);
      }
      this.judged.add(key);
    }
    this.dirty = new Set();
  }

  /** Re-judge dirty flows and hand back what changed since the last call. */
  takeChanges(): StoreChanges {
    this.settle();
    const upserts: FlowReport[] = [];
    for (const key of this.judged) {
      const st = this.states.get(key);
      if (st) upserts.push(this.toReport(st));
    }
    this.judged = new Set();
    const removals = [...this.removed];
    this.removed = new Set();
    const alerts = this.alerts;
    this.alerts = [];
    return { upserts, removals, alerts };
  }

  private judge(flow: TrackedFlow): Classification {
    const createdSnapshot =
      flow.createdAt !== undefined ? snapshotAt(this.natHistory(), flow.createdAt) : undefined;
    return classifyFlow({
      flow: flow.record,
      createdSnapshot,
      currentSnapshot: this.current,
      timeouts: flow.timeouts,
      firstSeen: flow.firstSeen,
      now: this.now,
      options: { unansweredAfterMs: this.options.unansweredAfterMs },
    });
  }

  private natHistory(): NatSnapshot[] {
    return this.nat.map((v) => v.snapshot);
  }

  private trackAlert(st: FlowState, before: Classification): void {
    const wasCritical = before.severity === 'critical';
    const isCritical = st.verdict.severity === 'critical' && st.flow.destroyedAt === undefined;
    if (wasCritical === isCritical) return;
    this.alerts.push({
      t: this.now,
      state: isCritical ? 'raised' : 'cleared',
      flowId: reportId(st.flow),
      service: st.verdict.service ?? before.service,
      verdict: st.verdict.verdict,
    });
  }

  private toReport(st: FlowState): FlowReport {
    const { flow, verdict: c } = st;
    const rec = flow.record;
    return {
      id: reportId(flow),
      orig: {
        src: rec.orig.src,
        dst: rec.orig.dst,
        sport: rec.orig.sport,
        dport: rec.orig.dport,
        proto: rec.proto,
      },
      reply: { src: rec.reply.src, dst: rec.reply.dst, sport: rec.reply.sport, dport: rec.reply.dport },
      verdict: c.verdict,
      severity: c.severity,
      keptAlive: c.keptAlive,
      createdDuringRuleGap: c.createdDuringRuleGap,
      reason: c.reason,
      remedy: c.remedy,
      service: c.service,
      frontend: c.frontend,
      expectedEndpoints: c.expectedEndpoints,
      badFields: c.badFields,
      unreplied: rec.unreplied,
      assured: rec.assured,
      timeout: rec.timeout,
      timeoutResets: countTimeoutResets(flow.timeouts),
      firstSeen: flow.firstSeen,
      lastSeen: flow.lastSeen,
      createdAt: flow.createdAt,
      destroyedAt: flow.destroyedAt,
    };
  }

  /** All current reports, judged.*/
  reports(): FlowReport[] {
    this.settle();
    const out: FlowReport[] = [];
    for (const st of this.states.values()) out.push(this.toReport(st));
    return out;
  }

  /** One flow by report id, with its lifecycle. */
  get(id: string): { report: FlowReport; flow: TrackedFlow } | undefined {
    this.settle();
    const st = this.states.get(/^\d+$/.test(id) ? `id:${id}` : id);
    return st ? { report: this.toReport(st), flow: st.flow } : undefined;
  }

  /** The snapshots in force when a flow was created and now. */
  natFor(flow: TrackedFlow): { atCreation?: NatSnapshot; current?: NatSnapshot } {
    return {
      atCreation: flow.createdAt !== undefined ? snapshotAt(this.natHistory(), flow.createdAt) : undefined,
      current: this.current,
    };
  }

  /** Entries worth re-reading to see their timeouts reset: bad ones first, then UNREPLIED service flows. */
  suspects(): Array<{ src: string; dst: string; sport: number; dport: number }> {
    const bad: TrackedFlow[] = [];
    const unreplied: TrackedFlow[] = [];
    for (const st of this.states.values()) {
      const f = st.flow;
      if (
        f.destroyedAt !== undefined ||
        f.record.orig.sport === undefined ||
        f.record.orig.dport === undefined
      )
        continue;
      if (BAD.has(st.verdict.verdict)) bad.push(f);
      else if (f.record.unreplied && st.verdict.frontend !== undefined) unreplied.push(f);
      if (bad.length >= this.options.maxSuspects) break;
    }
    return [...bad, ...unreplied].slice(0, this.options.maxSuspects).map((f) => ({
      src: f.record.orig.src,
      dst: f.record.orig.dst,
      sport: f.record.orig.sport!,
      dport: f.record.orig.dport!,
    }));
  }

  /** Live records for a recording checkpoint. */
  liveRecords(): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (const st of this.states.values()) if (st.flow.destroyedAt === undefined) out.push(st.flow.record);
    return out;
  }

  stats(): StoreStats {
    this.settle();
    const byVerdict: Record<Verdict, number> = {
      ok: 0,
      'no-dnat': 0,
      'stale-endpoint': 0,
      'no-endpoints': 0,
      unanswered: 0,
    };
    const bySeverity: Record<string, number> = { critical: 0, warning: 0, ok: 0 };
    let live = 0;
    for (const st of this.states.values()) {
      if (st.flow.destroyedAt !== undefined) continue;
      live++;
      byVerdict[st.verdict.verdict]++;
      bySeverity[st.verdict.severity] = (bySeverity[st.verdict.severity] ?? 0) + 1;
    }
    return {
      flows: this.states.size,
      live,
      evicted: this.evicted,
      parseErrors: this.parseErrors,
      lastParseError: this.lastParseError,
      events: { ...this.events },
      byVerdict,
      bySeverity,
    };
  }
}

/** Placeholder before a flow's first judgement, so the first real verdict counts as a change. */
const UNJUDGED: Classification = Object.freeze({
  verdict: 'ok',
  severity: 'ok',
  keptAlive: false,
  createdDuringRuleGap: false,
  expectedEndpoints: [],
  badFields: [],
  reason: '',
  remedy: null,
}) as Classification;

function reportId(flow: TrackedFlow): string {
  return flow.record.id !== undefined ? String(flow.record.id) : flow.key;
}

function isDestroyed(st: FlowState): boolean {
  return st.flow.destroyedAt !== undefined;
}

function isHealthy(st: FlowState): boolean {
  return st.verdict.severity === 'ok';
}
