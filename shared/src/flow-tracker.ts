/** Pure live table of conntrack entries built from events and dumps, with a bounded history per entry. */
import type { ConntrackEventType, FlowRecord } from './conntrack-types.js';
import { tupleKey } from './flow-key.js';
import type { TimeoutObservation } from './verdict-types.js';

/** One lifecycle step of a tracked flow. */
export interface FlowHistoryEntry {
  /** When it was observed (ms). */
  at: number;
  /** Event type, or `LIST` for a dump reading. */
  event: ConntrackEventType | 'LIST';
  /** Timeout at that moment, if printed. */
  timeout?: number;
  /** Whether it was UNREPLIED at that moment. */
  unreplied: boolean;
}

/** A flow as tracked over time. */
export interface TrackedFlow {
  /** Stable key: `id:N` when conntrack printed an id, else the tuple key. */
  key: string;
  /** Latest record seen. */
  record: FlowRecord;
  /** First observation (ms). */
  firstSeen: number;
  /** Latest observation (ms). */
  lastSeen: number;
  /** When a NEW event was seen for it (ms); undefined when it predates what we saw. */
  createdAt?: number;
  /** When a DESTROY was seen (ms). */
  destroyedAt?: number;
  /** Bounded lifecycle history, oldest first. */
  history: FlowHistoryEntry[];
  /** Bounded timeout readings, oldest first. */
  timeouts: TimeoutObservation[];
}

export interface FlowTrackerOptions {
  /** Max history entries kept per flow (oldest dropped). Default 64. */
  maxHistory?: number;
}

/** Tracks flows by conntrack id, falling back to the tuple so id-less events and id-carrying dumps meet. */
export class FlowTracker {
  private readonly byKey = new Map<string, TrackedFlow>();
  /** Live flows by original tuple; destroyed flows leave it so a reused tuple starts a new flow. */
  private readonly byTuple = new Map<string, TrackedFlow>();
  private readonly maxHistory: number;

  constructor(options: FlowTrackerOptions = {}) {
    this.maxHistory = options.maxHistory ?? 64;
  }

  /** Apply one parsed record observed at `at` ms; returns the flow it belongs to. */
  observe(rec: FlowRecord, at: number): TrackedFlow {
    const tk = tupleKey(rec);
    const { flow: match, superseded } = this.match(rec, tk);
    if (superseded) this.supersede(superseded, at, tk);
    let flow = match;
    if (!flow) {
      const key = rec.id !== undefined ? `id:${rec.id}` : this.uniqueTupleKey(tk);
      flow = { key, record: rec, firstSeen: at, lastSeen: at, history: [], timeouts: [] };
      this.byKey.set(key, flow);
    }
    this.apply(flow, rec, at, tk);
    return flow;
  }

  /** The tracked flow a record belongs to, without changing anything; `superseded` is a live flow it replaces. */
  find(rec: FlowRecord): TrackedFlow | undefined {
    return this.match(rec, tupleKey(rec)).flow;
  }

  private match(rec: FlowRecord, tk: string): { flow?: TrackedFlow; superseded?: TrackedFlow } {
    const byId = rec.id !== undefined ? this.byKey.get(`id:${rec.id}`) : undefined;
    if (byId) return { flow: byId };
    const holder = this.byTuple.get(tk);
    if (!holder) return {};
    const sameEntry =
      (rec.id === undefined || holder.record.id === undefined || holder.record.id === rec.id) &&
      !(rec.event === 'NEW' && holder.createdAt !== undefined);
    return sameEntry ? { flow: holder } : { superseded: holder };
  }

  /** A new entry took this tuple, so the old one is gone even though we missed its DESTROY. */
  private supersede(old: TrackedFlow, at: number, tk: string): void {
    old.destroyedAt = at;
    this.byTuple.delete(tk);
  }

  private uniqueTupleKey(tk: string): string {
    if (!this.byKey.has(tk)) return tk;
    let n = 2;
    while (this.byKey.has(`${tk}#${n}`)) n++;
    return `${tk}#${n}`;
  }

  private apply(flow: TrackedFlow, rec: FlowRecord, at: number, tk: string): void {
    const prev = flow.record;
    // DESTROY lines may lack the timeout and flags; keep what we knew.
    flow.record =
      rec.event === 'DESTROY'
        ? { ...rec, timeout: rec.timeout ?? prev.timeout, id: rec.id ?? prev.id }
        : { ...rec, id: rec.id ?? prev.id };
    flow.lastSeen = Math.max(flow.lastSeen, at);
    if (rec.event === 'NEW') flow.createdAt = at;
    if (rec.event === 'DESTROY') {
      flow.destroyedAt = at;
      if (this.byTuple.get(tk) === flow) this.byTuple.delete(tk);
    } else {
      this.byTuple.set(tk, flow);
    }
    const entry: FlowHistoryEntry = { at, event: rec.event ?? 'LIST', unreplied: rec.unreplied };
    if (rec.timeout !== undefined) entry.timeout = rec.timeout;
    pushBounded(flow.history, entry, this.maxHistory);
    if (rec.timeout !== undefined && rec.event !== 'DESTROY') {
      pushBounded(flow.timeouts, { at, timeout: rec.timeout, unreplied: rec.unreplied }, this.maxHistory);
    }
  }

  /** Forget a flow entirely (eviction, retention). */
  remove(key: string): void {
    const flow = this.byKey.get(key);
    if (!flow) return;
    this.byKey.delete(key);
    const tk = tupleKey(flow.record);
    if (this.byTuple.get(tk) === flow) this.byTuple.delete(tk);
  }

  /** Mark a live flow gone without a DESTROY event (e.g. absent from a full dump). */
  markGone(key: string, at: number): void {
    const flow = this.byKey.get(key);
    if (!flow || flow.destroyedAt !== undefined) return;
    this.supersede(flow, at, tupleKey(flow.record));
  }

  /** Flow by key. */
  get(key: string): TrackedFlow | undefined {
    return this.byKey.get(key);
  }

  /** All flows ever seen (live and destroyed), in first-seen order. */
  all(): IterableIterator<TrackedFlow> {
    return this.byKey.values();
  }

  /** Number of flows held. */
  get size(): number {
    return this.byKey.size;
  }
}

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}
