/** The live flow table: ingests events, dumps and NAT snapshots, keeps verdicts current, and tracks changes. */

import type { FlowRecord } from '../conntrack/conntrack-types.js';
import { probeListingLine } from '../conntrack/listing-probe.js';
import { parseConntrackLine } from '../conntrack/parse-conntrack-line.js';
import type { RateBucket } from '../engine/rate-timeline.js';
import { RateTimeline } from '../engine/rate-timeline.js';
import type { NatChange, NatSnapshot } from '../nat/nat-types.js';
import { type NatVersion, NatVersions } from '../nat/nat-versions.js';
import type { ListedReading } from '../recording/recording-format.js';
import { classifyFlow } from '../verdict/classify-flow.js';
import type { Classification } from '../verdict/verdict-types.js';
import {
  deleteHelps,
  isBadVerdict,
  SEVERITY_RANK,
  type Severity,
  type Verdict,
} from '../verdict/verdicts.js';
import { AgeingQueue } from './ageing-queue.js';
import type { Alert } from './alert.js';
import { AddressInterner, hasOrigPorts } from './compact-record.js';
import { type FlowFilter, isEmptyFilter, matchesFilter } from './flow-filter.js';
import { buildFlowReport, compareReports, type FlowReport } from './flow-report.js';
import { evictDownTo, retireDestroyed } from './flow-retention.js';
import { FlowTally } from './flow-tally.js';
import {
  type FlowHistoryEntry,
  FlowTracker,
  type FlowTrackerState,
  HISTORY_ENTRY_BYTES,
  type TrackedFlow,
} from './flow-tracker.js';

export type { NatVersion };

export interface FlowStoreOptions {
  /** Hard cap on tracked flows; beyond it the oldest destroyed, then oldest healthy flows are evicted. */
  maxFlows: number;
  /** How long destroyed flows stay visible, ms. */
  destroyedRetentionMs: number;
  /** History entries per flow. */
  maxHistory: number;
  /** History bytes per flow, at {@link HISTORY_ENTRY_BYTES} an entry (the tighter of this and `maxHistory` applies). */
  maxHistoryBytes: number;
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
  maxHistory: 8,
  maxHistoryBytes: 512,
  maxNatVersions: 200,
  unansweredAfterMs: 10_000,
  maxSuspects: 256,
};

/** Changes since the last {@link FlowStore.takeChanges}. */
export interface StoreChanges {
  upserts: FlowReport[];
  removals: string[];
  alerts: Alert[];
  /** More flows changed than one batch may carry: clients should take a fresh (bounded) sync instead. */
  overflow: boolean;
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
  bySeverity: Record<Severity, number>;
  /** Live critical/warning flows per matched service ('' when none matched), for per-service metrics. */
  badByService: Record<string, { critical: number; warning: number }>;
}

/** Owns the flows. Pure in-memory; time comes in as arguments so live and replay behave the same. */
export class FlowStore {
  readonly options: FlowStoreOptions;
  private tracker: FlowTracker;
  /** Destroyed flows in destroy order, for retention without scanning the table. */
  private readonly destroyedQueue = new Set<string>();
  /** Canonical flat copies of addresses: flows share them, and none pins the line or dump it came from. */
  private readonly interned = new AddressInterner();
  private lastHousekeeping = 0;
  /**
   * Tracker times are ms since `base`, not since the epoch: small integers are stored inline by V8, epoch ms
   * are boxed (16 B each, several per flow). Reports convert back.
   */
  private base: number | undefined;
  private dirty = new Set<string>();
  private removed = new Set<string>();
  private alerts: Alert[] = [];
  /** Flows still UNREPLIED and judged ok, by first-seen second, to re-judge as they age into `unanswered`. */
  private readonly pendingUnanswered = new AgeingQueue();
  private readonly natVersions: NatVersions;
  readonly timeline = new RateTimeline(3600);
  private evicted = 0;
  private parseErrors = 0;
  private lastParseError: string | undefined;
  private readonly events = { NEW: 0, UPDATE: 0, DESTROY: 0 };
  /** Live flows by verdict, kept as they change (see {@link stats}). */
  private readonly tally = new FlowTally();
  now = 0;

  constructor(options: Partial<FlowStoreOptions> = {}) {
    this.options = { ...DEFAULT_STORE_OPTIONS, ...options };
    this.natVersions = new NatVersions(this.options.maxNatVersions);
    // Our tail prints ids (-o id); full resyncs after event loss cover what the tuple index would catch.
    this.tracker = new FlowTracker({
      maxHistory: this.options.maxHistory,
      maxHistoryBytes: this.options.maxHistoryBytes,
      indexIdFlowsByTuple: false,
      keep: (rec, prev) => this.interned.compact(rec, prev),
      // A flow replaced after a missed DESTROY must still be re-sent (as gone) and retired later.
      onRetire: (old) => {
        this.destroyedQueue.add(old.key);
        this.touch(old, old.destroyedAt);
      },
      // A flow still awaiting judgement from an earlier input is judged on that one first (see judgeOne).
      beforeUpdate: (flow, at) => {
        if (flow.touchedAt !== undefined && flow.touchedAt < at) this.judgeOne(flow);
      },
    });
  }

  /** NAT versions seen, oldest first (at most `maxNatVersions`). */
  get nat(): NatVersion[] {
    return this.natVersions.versions;
  }

  /** Changes between NAT versions, oldest first (at most `maxNatVersions`). */
  get natChanges(): NatChange[] {
    return this.natVersions.changes;
  }

  /** Current NAT snapshot. */
  get current(): NatSnapshot | undefined {
    return this.natVersions.current;
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
    this.ingestDumpLines(scope, lines, at, startedAt);
    if (scope === 'full') this.endFullDump(at, startedAt);
  }

  /**
   * Some lines of a `conntrack -L` run that ended at `at` (a big dump arrives in chunks, other inputs in between).
   * A full dump's lines are dated from its start (see FlowTracker.observe); a targeted poll's are dated `at`.
   */
  ingestDumpLines(
    scope: 'full' | 'poll',
    lines: readonly string[],
    at: number,
    startedAt = at,
    readings?: Array<ListedReading | undefined>,
  ): void {
    this.advance(at);
    const readFrom = scope === 'full' ? startedAt : undefined;
    const relAt = this.rel(at);
    const relFrom = readFrom === undefined ? undefined : this.rel(readFrom);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      // Most lines of a dump only count a live flow's timeout down: taken without building a record.
      const p = probeListingLine(line);
      if (p !== undefined) {
        const flow = this.tracker.takeProbedReading(p, relAt, relFrom);
        if (flow !== undefined) {
          if (readings)
            readings[i] = p.mark === undefined ? [flow.key, p.timeout] : [flow.key, p.timeout, p.mark];
          continue;
        }
      }
      const r = parseConntrackLine(line);
      if (r.kind === 'flow') {
        const flow = this.observe(r, at, readFrom);
        // A quiet line can be recorded as its flow's key and reading (see RecListed).
        if (readings && this.tracker.lastReading === 'quiet')
          readings[i] = r.mark === undefined ? [flow.key, r.timeout!] : [flow.key, r.timeout!, r.mark];
      } else if (r.kind === 'error') {
        this.parseErrors++;
        this.lastParseError = `${r.reason}: ${r.raw.slice(0, 200)}`;
      }
    }
  }

  /** Quiet dump readings recorded as `[key, timeout, mark]` (a replay of what {@link ingestDumpLines} saw). */
  applyListed(readings: readonly ListedReading[], at: number): void {
    this.advance(at);
    const t = this.rel(at);
    for (const [key, timeout, mark] of readings) this.tracker.takeQuietReading(key, timeout, mark, t);
  }

  /**
   * A full dump is complete: retire the live flows it did not list. A flow seen after the dump started may
   * postdate the kernel's walk of its bucket, so only older ones retire; a listed flow's lastSeen is `at`.
   */
  endFullDump(at: number, startedAt: number): void {
    this.advance(at);
    const start = this.rel(startedAt);
    for (const flow of this.tracker.all()) {
      if (flow.destroyedAt === undefined && flow.lastSeen < start) {
        this.tracker.markGone(flow.key, this.rel(at));
      }
    }
  }

  /** Retire a live flow now (e.g. we deleted it), without waiting for a DESTROY or a full dump. */
  markGone(id: string, at: number): void {
    this.advance(at);
    const flow = this.tracker.get(id);
    if (!flow || flow.destroyedAt !== undefined) return;
    this.tracker.markGone(id, this.rel(at));
  }

  /** A NAT snapshot; returns the change when its hash differs from the current one. */
  setNat(snapshot: NatSnapshot, at: number): NatChange | undefined {
    // What earlier inputs changed is judged against the rules they arrived under.
    this.settle();
    this.advance(at);
    const { added, change } = this.natVersions.add(snapshot, at);
    // Verdicts depend on the rules: re-judge every flow, at the snapshot's time (a flow turned bad by it was bad
    // from then on, whenever a client reads it).
    if (added) {
      const t = this.rel(at);
      for (const flow of this.tracker.all()) this.touch(flow, t);
      this.settle();
    }
    return change;
  }

  private observe(parsed: FlowRecord, at: number, readFrom?: number): TrackedFlow {
    const before = this.tracker.size;
    const flow = this.tracker.observe(
      parsed,
      this.rel(at),
      readFrom === undefined ? undefined : this.rel(readFrom),
    );
    if (flow.verdict === undefined) flow.verdict = UNJUDGED;
    if (flow.destroyedAt !== undefined) this.destroyedQueue.add(flow.key);
    if (this.tracker.lastReading !== 'changed') return flow;
    if (this.tracker.size > before && this.tracker.size > this.options.maxFlows) this.evict();
    this.touch(flow, this.rel(at));
    return flow;
  }

  /**
   * Mark a flow for re-judging, remembering the time (tracker ms) of the first input since its last judgement:
   * the input's own time, not the store's clock. A live flush moves the clock to the wall clock, past inputs
   * still on their way to the main thread (the event tail hands them over up to 25 ms later); a replay has no
   * such flush, so the clock would make `badSince` differ between the two.
   */
  private touch(flow: TrackedFlow, relAt = this.rel(this.now)): void {
    this.dirty.add(flow.key);
    flow.touchedAt ??= relAt;
  }

  /** Move the clock forward (never back) and fix the time base on first use; housekeeping is {@link tick}'s. */
  advance(at: number): void {
    if (at > this.now) this.now = at;
    this.base ??= at - 1000;
  }

  /** Absolute ms → tracker time. */
  private rel(at: number): number {
    this.base ??= at - 1000;
    return at - this.base;
  }

  /** Tracker time → absolute ms. */
  private abs(t: number): number;
  private abs(t: number | undefined): number | undefined;
  private abs(t: number | undefined): number | undefined {
    return t === undefined ? undefined : t + (this.base ?? 0);
  }

  /** Housekeeping (retention, ageing into `unanswered`); cheap to call often, works at most once a second. */
  tick(now: number): void {
    this.advance(now);
    if (this.now - this.lastHousekeeping < 1000) return;
    this.lastHousekeeping = this.now;
    const limit = this.rel(this.now - this.options.destroyedRetentionMs);
    retireDestroyed(this.destroyedQueue, this.tracker, limit, (key) => this.drop(key));
    const ageLimit = this.rel(this.now - this.options.unansweredAfterMs);
    const due = this.pendingUnanswered.takeDue(ageLimit, (key) => this.tracker.get(key)?.firstSeen);
    for (const key of due) {
      const flow = this.tracker.get(key);
      if (!flow) continue;
      // Unanswered from the first ms it was older than the limit, not from whenever this housekeeping ran.
      flow.touchedAt ??= flow.firstSeen + this.options.unansweredAfterMs + 1;
      this.touch(flow);
    }
  }

  private drop(key: string): void {
    const flow = this.tracker.get(key);
    if (flow) {
      this.tally.set(flow, undefined);
      this.pendingUnanswered.delete(key, flow.firstSeen);
    }
    this.destroyedQueue.delete(key);
    this.tracker.remove(key);
    this.dirty.delete(key);
    this.judged.delete(key);
    this.removed.add(key);
  }

  private evict(): void {
    const target = Math.floor(this.options.maxFlows * 0.99);
    this.evicted += evictDownTo(this.tracker, target, (key) => this.drop(key));
  }

  /** Keys judged since the last takeChanges, to report as upserts. */
  private judged = new Set<string>();

  /** Re-judge dirty flows now (REST reads call this so they never see a stale or unjudged verdict). */
  private settle(): void {
    if (this.dirty.size === 0) return;
    for (const key of this.dirty) {
      const flow = this.tracker.get(key);
      if (flow) this.judgeOne(flow);
    }
    this.dirty = new Set();
  }

  /**
   * Judge one flow as of the input that touched it (its time, under the rules then in force: a NAT change and a
   * later input to the same flow judge what is pending first), as a replay judging every record does; so its
   * verdict, `badSince` and alert times do not depend on when the judging ran (live: the next flush or read).
   */
  private judgeOne(flow: TrackedFlow): void {
    const at = flow.touchedAt ?? this.rel(this.now);
    flow.touchedAt = undefined;
    const before = flow.verdict ?? UNJUDGED;
    const after = this.judge(flow, at);
    flow.verdict = after;
    // The counts follow judgements: every input that changes a flow, its end included, has it judged again.
    this.tally.set(flow, flow.destroyedAt === undefined ? after : undefined);
    if (after.severity === 'ok') flow.badSince = undefined;
    else flow.badSince ??= at;
    const t = this.abs(at);
    this.trackAlert(flow, before, after, t);
    if (isBadVerdict(after.verdict) && before.verdict !== after.verdict)
      this.timeline.countBad(t, after.verdict);
    // Only UNREPLIED service flows can age into `unanswered`.
    if (flow.destroyedAt === undefined && flow.record.unreplied && after.verdict === 'ok' && after.frontend) {
      this.pendingUnanswered.add(flow.key, flow.firstSeen);
    } else {
      this.pendingUnanswered.delete(flow.key, flow.firstSeen);
    }
    this.judged.add(flow.key);
  }

  /** Re-judge dirty flows and hand back what changed since the last call (at most `limit` upserts). */
  takeChanges(limit = Number.POSITIVE_INFINITY): StoreChanges {
    this.settle();
    const upserts: FlowReport[] = [];
    const overflow = this.judged.size > limit;
    if (overflow) this.judged.clear();
    for (const key of this.judged) {
      const flow = this.tracker.get(key);
      if (flow) upserts.push(this.toReport(flow));
    }
    this.judged = new Set();
    const removals = [...this.removed];
    this.removed = new Set();
    const alerts = this.alerts;
    this.alerts = [];
    return { upserts, removals, alerts, overflow };
  }

  private judge(flow: TrackedFlow, at: number): Classification {
    const createdSnapshot =
      flow.createdAt !== undefined ? this.natVersions.at(this.abs(flow.createdAt)) : undefined;
    return classifyFlow({
      flow: flow.record,
      createdSnapshot,
      currentSnapshot: this.current,
      timeouts: flow.history,
      firstSeen: flow.firstSeen,
      now: at,
      options: { unansweredAfterMs: this.options.unansweredAfterMs },
    });
  }

  private trackAlert(flow: TrackedFlow, before: Classification, after: Classification, t: number): void {
    const wasCritical = before.severity === 'critical';
    const isCritical = after.severity === 'critical' && flow.destroyedAt === undefined;
    if (wasCritical === isCritical) return;
    this.alerts.push({
      t,
      state: isCritical ? 'raised' : 'cleared',
      flowId: flow.key,
      service: after.service ?? before.service,
      verdict: after.verdict,
    });
  }

  private toReport(flow: TrackedFlow): FlowReport {
    return buildFlowReport(flow, flow.verdict ?? UNJUDGED, { base: this.base ?? 0 });
  }

  /** All current reports, judged.*/
  reports(): FlowReport[] {
    this.settle();
    const out: FlowReport[] = [];
    for (const flow of this.tracker.all()) out.push(this.toReport(flow));
    return out;
  }

  /**
   * Flows matching `filter`, worst first, at most `limit`, plus how many matched. Without a filter the ranking
   * works on cached verdicts and builds reports only for the rows returned (a sync of a 250k table stays cheap).
   */
  select(filter: FlowFilter | undefined, limit: number, offset = 0): { flows: FlowReport[]; total: number } {
    this.settle();
    const end = offset + limit;
    if (!isEmptyFilter(filter)) {
      const all = this.reports().filter((f) => matchesFilter(f, filter));
      all.sort(compareReports);
      return { flows: all.slice(offset, end), total: all.length };
    }
    // Only non-ok flows need sorting; ok flows are never kept alive, so their order is live before destroyed,
    // then first seen — and the tracker already iterates in first-seen order. No sort of the whole table.
    const bad: TrackedFlow[] = [];
    const okLive: TrackedFlow[] = [];
    const okGone: TrackedFlow[] = [];
    for (const f of this.tracker.all()) {
      if ((f.verdict ?? UNJUDGED).severity !== 'ok') bad.push(f);
      else if (f.destroyedAt === undefined) {
        if (okLive.length < end) okLive.push(f);
      } else if (okGone.length < end) okGone.push(f);
    }
    bad.sort(compareFlows);
    const picked = bad.concat(okLive, okGone).slice(offset, end);
    return { flows: picked.map((f) => this.toReport(f)), total: this.tracker.size };
  }

  /** How many flows match `filter`; builds reports only when the filter looks beyond verdict and severity. */
  countMatching(filter: FlowFilter | undefined): number {
    this.settle();
    if (isEmptyFilter(filter)) return this.tracker.size;
    const cheap =
      filter!.ip === undefined &&
      filter!.port === undefined &&
      filter!.service === undefined &&
      filter!.text === undefined;
    let n = 0;
    for (const flow of this.tracker.all()) {
      if (cheap) {
        const v = flow.verdict ?? UNJUDGED;
        if (filter!.verdict?.length && !filter!.verdict.includes(v.verdict)) continue;
        if (filter!.severity?.length && !filter!.severity.includes(v.severity)) continue;
        n++;
      } else if (matchesFilter(this.toReport(flow), filter)) n++;
    }
    return n;
  }

  /** One flow by report id, with its lifecycle. */
  get(id: string): { report: FlowReport; flow: TrackedFlow } | undefined {
    this.settle();
    const flow = this.tracker.get(id);
    return flow ? { report: this.toReport(flow), flow } : undefined;
  }

  /** Live flows whose verdict is in `verdicts` (reports built only for those), at most `limit`. */
  liveWithVerdict(
    verdicts: ReadonlySet<Verdict>,
    limit: number,
  ): Array<{ report: FlowReport; flow: TrackedFlow }> {
    this.settle();
    const out: Array<{ report: FlowReport; flow: TrackedFlow }> = [];
    for (const f of this.tracker.all()) {
      if (f.destroyedAt !== undefined || !verdicts.has((f.verdict ?? UNJUDGED).verdict)) continue;
      out.push({ report: this.toReport(f), flow: f });
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * The first entry with this original tuple seen at or after `after` (ms): after a delete, the one the
   * client's next packet created. A scan of the table, for one flow's detail.
   */
  successorOf(orig: FlowReport['orig'], after: number): FlowReport | undefined {
    this.settle();
    const from = this.rel(after);
    let best: TrackedFlow | undefined;
    for (const f of this.tracker.all()) {
      const o = f.record.orig;
      if (o.src !== orig.src || o.dst !== orig.dst || o.sport !== orig.sport || o.dport !== orig.dport)
        continue;
      if (f.record.proto !== orig.proto || (f.createdAt ?? f.firstSeen) < from) continue;
      if (!best || (f.createdAt ?? f.firstSeen) < (best.createdAt ?? best.firstSeen)) best = f;
    }
    return best ? this.toReport(best) : undefined;
  }

  /** A flow's lifecycle with absolute times. */
  lifecycle(flow: TrackedFlow): FlowHistoryEntry[] {
    return flow.history.map((h) => ({ ...h, at: this.abs(h.at) }));
  }

  /** The snapshots in force when a flow was created and now. */
  natFor(flow: TrackedFlow): { atCreation?: NatSnapshot; current?: NatSnapshot } {
    return {
      atCreation: flow.createdAt !== undefined ? this.natVersions.at(this.abs(flow.createdAt)) : undefined,
      current: this.current,
    };
  }

  /**
   * Entries worth re-reading to see their timeouts reset: bad ones first, then UNREPLIED service flows whose
   * verdict reads that (`unanswered`, `blocked`). A young UNREPLIED flow DNATed to a current endpoint is `ok`
   * whatever its readings say, and turns `unanswered` only after `unansweredAfterMs`, with the timeout its first
   * event or listing gave as the first reading: re-reading it earlier changes no verdict (kept-alive then shows
   * one poll after it turns, and fewer resets may be counted). In a storm those young flows are every flow to the
   * flooded service, and each poll of them listed the whole frontend (tens of thousands of entries).
   */
  suspects(): Array<{ src: string; dst: string; sport: number; dport: number }> {
    const bad: TrackedFlow[] = [];
    const unreplied: TrackedFlow[] = [];
    for (const f of this.tracker.all()) {
      if (f.destroyedAt !== undefined || !hasOrigPorts(f.record)) continue;
      const v = f.verdict ?? UNJUDGED;
      if (deleteHelps(v.verdict)) bad.push(f);
      else if (
        f.record.unreplied &&
        v.frontend !== undefined &&
        v.verdict !== 'ok' &&
        unreplied.length < this.options.maxSuspects
      ) {
        unreplied.push(f);
      }
      if (bad.length >= this.options.maxSuspects) break;
    }
    return [...bad, ...unreplied].slice(0, this.options.maxSuspects).map((f) => {
      const o = f.record.orig;
      return { src: o.src, dst: o.dst, sport: o.sport!, dport: o.dport! };
    });
  }

  /** Live records for a recording checkpoint. */
  liveRecords(): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (const f of this.tracker.all()) if (f.destroyedAt === undefined) out.push(f.record);
    return out;
  }

  /**
   * Forget the changes kept for clients, handing back the alerts: a store nobody flushes (an index build, a
   * post-mortem pass) must not pile up every removed id and alert.
   */
  discardChanges(): Alert[] {
    if (this.judged.size > 0) this.judged.clear();
    if (this.removed.size > 0) this.removed.clear();
    const alerts = this.alerts;
    if (alerts.length > 0) this.alerts = [];
    return alerts;
  }

  /** Judge what is pending now, so a checkpoint holds no unjudged flows (replay settles at fixed times). */
  settleNow(now: number): void {
    this.tick(now);
    this.settle();
  }

  /** Everything the store knows, as plain data (JSON-safe), for a replay checkpoint. */
  exportState(): FlowStoreState {
    return {
      tracker: this.tracker.exportState(),
      destroyedQueue: [...this.destroyedQueue],
      lastHousekeeping: this.lastHousekeeping,
      base: this.base ?? null,
      dirty: [...this.dirty],
      removed: [...this.removed],
      judged: [...this.judged],
      alerts: this.alerts,
      pendingUnanswered: this.pendingUnanswered.keys(),
      nat: this.nat,
      natChanges: this.natChanges,
      timeline: this.timeline.exportState(),
      evicted: this.evicted,
      parseErrors: this.parseErrors,
      lastParseError: this.lastParseError ?? null,
      events: { ...this.events },
      now: this.now,
    };
  }

  /** Replace everything with a checkpoint's state (taken over, not copied). */
  importState(s: FlowStoreState): void {
    this.tracker.importState(s.tracker);
    this.tally.clear();
    for (const f of this.tracker.all()) {
      f.counted = undefined;
      this.tally.set(f, f.destroyedAt === undefined ? (f.verdict ?? UNJUDGED) : undefined);
    }
    this.destroyedQueue.clear();
    for (const k of s.destroyedQueue) this.destroyedQueue.add(k);
    this.interned.clear();
    this.lastHousekeeping = s.lastHousekeeping;
    this.base = s.base ?? undefined;
    this.dirty = new Set(s.dirty);
    this.removed = new Set(s.removed);
    this.judged = new Set(s.judged);
    this.alerts = s.alerts;
    this.pendingUnanswered.clear();
    for (const k of s.pendingUnanswered) {
      const f = this.tracker.get(k);
      if (f) this.pendingUnanswered.add(k, f.firstSeen);
    }
    this.nat.splice(0, this.nat.length, ...s.nat);
    this.natChanges.splice(0, this.natChanges.length, ...s.natChanges);
    this.timeline.importState(s.timeline);
    this.evicted = s.evicted;
    this.parseErrors = s.parseErrors;
    this.lastParseError = s.lastParseError ?? undefined;
    Object.assign(this.events, s.events);
    this.now = s.now;
  }

  /** Counts over the live table, from the running tally (no pass over the flows). */
  stats(): StoreStats {
    this.settle();
    const t = this.tally;
    const badByService: Record<string, { critical: number; warning: number }> = {};
    for (const [service, n] of t.badByService) badByService[service] = { ...n };
    return {
      flows: this.tracker.size,
      live: t.live,
      evicted: this.evicted,
      parseErrors: this.parseErrors,
      lastParseError: this.lastParseError,
      events: { ...this.events },
      byVerdict: { ...t.byVerdict },
      bySeverity: { ...t.bySeverity },
      badByService,
    };
  }
}

/** A {@link FlowStore} as plain data: what a replay checkpoint holds. */
export interface FlowStoreState {
  tracker: FlowTrackerState;
  destroyedQueue: string[];
  lastHousekeeping: number;
  base: number | null;
  dirty: string[];
  removed: string[];
  judged: string[];
  alerts: Alert[];
  pendingUnanswered: string[];
  nat: NatVersion[];
  natChanges: NatChange[];
  timeline: RateBucket[];
  evicted: number;
  parseErrors: number;
  lastParseError: string | null;
  events: { NEW: number; UPDATE: number; DESTROY: number };
  now: number;
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

/** The same order as compareReports, on tracked flows. */
function compareFlows(a: TrackedFlow, b: TrackedFlow): number {
  const va = a.verdict ?? UNJUDGED;
  const vb = b.verdict ?? UNJUDGED;
  return (
    SEVERITY_RANK[va.severity] - SEVERITY_RANK[vb.severity] ||
    Number(vb.keptAlive) - Number(va.keptAlive) ||
    Number(a.destroyedAt !== undefined) - Number(b.destroyedAt !== undefined) ||
    a.firstSeen - b.firstSeen ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}
