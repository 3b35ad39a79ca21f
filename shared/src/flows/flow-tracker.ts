/** Pure live table of conntrack entries built from events and dumps, with a bounded history per entry. */
import type { ConntrackEventType, FlowRecord } from '../conntrack/conntrack-types.js';
import { sameTupleKey, tupleKey } from '../conntrack/flow-key.js';
import { type ListingProbe, recordSig, recordSignature } from '../conntrack/listing-probe.js';
import type { Classification } from '../verdict/verdict-types.js';
import { CompactRecord, small } from './compact-record.js';
import { FlowKeyMap } from './flow-key-map.js';

/** One lifecycle step of a tracked flow; also a timeout reading for keep-alive detection. */
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
  /** Stable key: the decimal conntrack id when printed, else the tuple key (which contains `|`, so never clashes). */
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
  /** Bounded lifecycle history, oldest first; its entries double as timeout readings. */
  history: FlowHistoryEntry[];
  /** Latest judgement, cached here by whoever owns the tracker (saves a second map per flow). */
  verdict?: Classification;
  /** When that judgement turned bad (ms), set by the owner with the verdict; absent while ok. */
  badSince?: number;
  /** Time of the first input since that judgement (ms), while it awaits re-judging. */
  touchedAt?: number;
  /** The verdict the owner's running counts hold it under (see FlowTally); not part of its state. */
  counted?: Classification;
}

/**
 * A tracked flow with every field set from the start, so all flows share one in-object shape: a literal that
 * gains `createdAt`, `verdict` and `destroyedAt` later moves them to a separate property array (and its numbers
 * to boxes), tens of bytes per flow at 250k flows.
 */
class LiveFlow implements TrackedFlow {
  key: string;
  record: FlowRecord;
  firstSeen: number;
  lastSeen: number;
  createdAt: number | undefined = undefined;
  destroyedAt: number | undefined = undefined;
  history: FlowHistoryEntry[] = NO_HISTORY;
  verdict: Classification | undefined = undefined;
  badSince: number | undefined = undefined;
  touchedAt: number | undefined = undefined;
  counted: Classification | undefined = undefined;
  /** Signature of the record's tuples (see `recordSignature`); 0 when it has none. */
  sig0 = 0;
  sig1 = 0;

  constructor(key: string, record: FlowRecord, at: number) {
    this.key = key;
    this.record = record;
    this.firstSeen = at;
    this.lastSeen = at;
  }
}

/** The history of a flow not yet observed (never mutated: {@link appendBounded} always copies). */
const NO_HISTORY: FlowHistoryEntry[] = [];

/**
 * Heap cost of one history entry, bytes: its object (four fields, 56 B on Node 20's 64-bit V8) plus its slot in
 * the flow's history array (8 B). What {@link FlowTrackerOptions.maxHistoryBytes} counts: entries have one fixed
 * shape, so the byte cap comes down to an entry count, but it is stated in bytes so the bound reads as memory.
 */
export const HISTORY_ENTRY_BYTES = 64;

export interface FlowTrackerOptions {
  /** Max history entries kept per flow (oldest dropped). Default 64. */
  maxHistory?: number;
  /**
   * Max estimated bytes of history per flow ({@link HISTORY_ENTRY_BYTES} per entry); the tighter of this and
   * `maxHistory` applies. Default: no byte cap beyond `maxHistory`.
   */
  maxHistoryBytes?: number;
  /**
   * Index flows that carry a conntrack id by tuple too (default true). The tuple index lets a NEW with a new id
   * retire a flow whose DESTROY was missed; a live table fed by `-o id` output can turn it off to save memory
   * and rely on full resyncs after event loss instead.
   */
  indexIdFlowsByTuple?: boolean;
  /** Called when a live flow is retired without a DESTROY (replaced by a new entry, or marked gone). */
  onRetire?: (flow: TrackedFlow) => void;
  /** Called with a tracked flow about to take a newer record at `at` (its owner may judge the older one first). */
  beforeUpdate?: (flow: TrackedFlow, at: number) => void;
  /**
   * The form a record is kept in, given the record it replaces (undefined for a new flow): lets the live table
   * keep a compact copy that shares unchanged parts with the previous one. Default: the record as given.
   */
  keep?: (rec: FlowRecord, prev: FlowRecord | undefined) => FlowRecord;
}

/** Tracks flows by conntrack id, falling back to the tuple so id-less events and id-carrying dumps meet. */
export class FlowTracker {
  private readonly byKey = new FlowKeyMap();
  /**
   * The newest flow per conntrack id. The kernel derives ids from the entry's address and tuple, so an entry
   * deleted and re-created at once often gets the same id: a destroyed flow must not swallow its successor.
   */
  private readonly byId = new IdIndex(this.byKey);
  /** Live flows by original tuple; destroyed flows leave it so a reused tuple starts a new flow. */
  private readonly byTuple = new Map<string, TrackedFlow>();
  private readonly maxHistory: number;
  private readonly indexIdFlows: boolean;
  private readonly onRetire: ((flow: TrackedFlow) => void) | undefined;
  private readonly beforeUpdate: ((flow: TrackedFlow, at: number) => void) | undefined;
  private readonly keep: ((rec: FlowRecord, prev: FlowRecord | undefined) => FlowRecord) | undefined;

  constructor(options: FlowTrackerOptions = {}) {
    const byBytes =
      options.maxHistoryBytes === undefined
        ? Number.POSITIVE_INFINITY
        : Math.floor(options.maxHistoryBytes / HISTORY_ENTRY_BYTES);
    this.maxHistory = Math.max(1, Math.min(options.maxHistory ?? 64, byBytes));
    this.indexIdFlows = options.indexIdFlowsByTuple ?? true;
    this.onRetire = options.onRetire;
    this.beforeUpdate = options.beforeUpdate;
    this.keep = options.keep;
  }

  /**
   * Apply one parsed record observed at `at` ms; returns the flow it belongs to. `readFrom` (≤ `at`), for a line
   * of a long dump read by the kernel somewhere in [readFrom, at]: its timeout reading is dated at the earliest it
   * can be (`readFrom`, or the flow's last input if later), so a countdown is never mistaken for a refresh.
   */
  observe(parsed: FlowRecord, at: number, readFrom?: number): TrackedFlow {
    const { flow: match, superseded, destroyed, viaId } = this.match(parsed);
    // The tuple key as the match built it, if it did: a quiet dump line found by its id never needs one.
    const matchedTk = this.matchedTk;
    const readAt = match ? readingTime(match, at, readFrom) : at;
    this.lastReading = 'changed';
    // Listed before its DESTROY came in (the dump started earlier): a stale reading, not a new entry.
    if (
      destroyed &&
      readFrom !== undefined &&
      parsed.event === undefined &&
      destroyed.destroyedAt! >= readFrom
    ) {
      this.lastReading = 'stale';
      return destroyed;
    }
    // Only a line found by its id: a replay re-applies quiet readings by key, without `match` and the index
    // update it makes when the id leads to another flow.
    if (match && viaId && !superseded && this.isQuietReading(match, parsed, readAt, at)) {
      // Nothing a verdict reads changed: take the new timeout, build nothing else (a full dump re-reads every flow).
      this.quiet(match, parsed.timeout, parsed.mark, at);
      this.lastReading = 'quiet';
      return match;
    }
    if (superseded) this.supersede(superseded, at);
    const tk = matchedTk ?? tupleKey(parsed);
    const rec = this.keep ? this.keep(parsed, match?.record) : parsed;
    let flow = match;
    if (flow) this.beforeUpdate?.(flow, at);
    else {
      const key = rec.id !== undefined ? this.uniqueKey(String(rec.id), '-') : this.uniqueKey(tk, '#');
      flow = new LiveFlow(key, rec, small(at));
      this.byKey.set(key, flow);
    }
    if (rec.id !== undefined) this.byId.set(rec.id, flow);
    this.apply(flow, rec, at, tk, readAt);
    return flow;
  }

  /**
   * What the last {@link observe} did: `quiet`, a dump line of a live flow that only counted its timeout down (its
   * verdict cannot have changed: classification reads the tuples, flags and readings history, never the timeout
   * itself, so the store need not re-judge it); `stale`, a dump line of a flow destroyed since the dump started
   * (ignored); else `changed`.
   */
  lastReading: 'changed' | 'quiet' | 'stale' = 'changed';

  /** Apply a quiet reading recorded as `[key, timeout, mark]` (see {@link observe}); false when the flow is not live. */
  takeQuietReading(key: string, timeout: number, mark: number | undefined, at: number): boolean {
    const flow = this.byKey.get(key);
    if (!flow || flow.destroyedAt !== undefined) return false;
    this.quiet(flow, timeout, mark, at);
    return true;
  }

  /**
   * A full dump's or poll's line read by `probeListingLine`, taken as {@link observe} takes a quiet reading when it
   * is one: the flow with its id is live, its tuples' signature and flags are the line's, and the timeout only
   * counted down. Returns that flow, or undefined (nothing changed) for {@link observe} to take the line parsed.
   * Touches the flow, its record and its history, not the tuples and addresses a field-by-field compare reads.
   */
  takeProbedReading(p: ListingProbe, at: number, readFrom?: number): TrackedFlow | undefined {
    const flow = this.byId.get(p.id);
    if (!(flow instanceof LiveFlow) || flow.sig0 !== p.sig0 || flow.sig1 !== p.sig1) return undefined;
    const r = flow.record;
    if (
      flow.destroyedAt !== undefined ||
      r.id !== p.id ||
      r.event === 'DESTROY' ||
      r.protonum !== p.protonum ||
      r.unreplied !== p.unreplied ||
      r.assured !== p.assured ||
      r.state !== undefined ||
      r.zone !== undefined ||
      (r.mark !== p.mark && r.mark !== undefined)
    )
      return undefined;
    const readAt = readingTime(flow, at, readFrom);
    if (!isExpectedReading(flow.history, p.timeout, p.unreplied, readAt, at)) return undefined;
    this.quiet(flow, p.timeout, p.mark, at);
    this.lastReading = 'quiet';
    return flow;
  }

  private quiet(flow: TrackedFlow, timeout: number | undefined, mark: number | undefined, at: number): void {
    const prev = flow.record;
    if (prev instanceof CompactRecord) prev.takeReading(timeout, mark);
    else flow.record = { ...prev, event: undefined, timeout, mark };
    flow.lastSeen = small(Math.max(flow.lastSeen, at));
  }

  private isQuietReading(flow: TrackedFlow, rec: FlowRecord, readAt: number, at: number): boolean {
    if (rec.event !== undefined || flow.destroyedAt !== undefined) return false;
    const p = flow.record;
    const a = p.reply;
    const b = rec.reply;
    return (
      p.id === rec.id &&
      p.unreplied === rec.unreplied &&
      p.assured === rec.assured &&
      p.state === rec.state &&
      // Event lines never print the mark and dump lines do: learning it is not a change.
      (p.mark === rec.mark || p.mark === undefined) &&
      a.src === b.src &&
      a.dst === b.dst &&
      a.sport === b.sport &&
      a.dport === b.dport &&
      sameTupleKey(p, rec) &&
      rec.timeout !== undefined &&
      isExpectedReading(flow.history, rec.timeout, rec.unreplied, readAt, at)
    );
  }

  /** The tracked flow a record belongs to, without changing anything (undefined when it would start a new one). */
  find(rec: FlowRecord): TrackedFlow | undefined {
    return this.match(rec).flow;
  }

  /** The tuple key {@link match} built for the record it last looked up by tuple (undefined when it did not). */
  private matchedTk: string | undefined;

  private match(rec: FlowRecord): {
    flow?: TrackedFlow;
    superseded?: TrackedFlow;
    destroyed?: TrackedFlow;
    viaId?: boolean;
  } {
    this.matchedTk = undefined;
    const found = rec.id !== undefined ? this.byId.get(rec.id) : undefined;
    // Conntrack ids are 32-bit hashes, not unique: at 100k live entries two of them share one about once. The
    // same id with another original tuple is another entry (its own flow), never a replacement; the id then
    // leads to the newer one, so the older is found by its tuple from here on.
    const byId = found && sameTupleKey(found.record, rec) ? found : undefined;
    if (found && !byId && found.destroyedAt === undefined) this.byTuple.set(tupleKey(found.record), found);
    if (byId) {
      // A destroyed flow only takes a late DESTROY; anything else with its id is a new entry that reused it.
      if (byId.destroyedAt !== undefined && rec.event !== 'DESTROY') return { destroyed: byId };
      // A second NEW for a live flow means its DESTROY was missed.
      if (rec.event === 'NEW' && byId.createdAt !== undefined) return { superseded: byId };
      return { flow: byId, viaId: true };
    }
    const tk = tupleKey(rec);
    this.matchedTk = tk;
    const holder = this.byTuple.get(tk);
    if (!holder) return {};
    const sameEntry =
      (rec.id === undefined || holder.record.id === undefined || holder.record.id === rec.id) &&
      !(rec.event === 'NEW' && holder.createdAt !== undefined);
    return sameEntry ? { flow: holder } : { superseded: holder };
  }

  /** A new entry took this tuple, so the old one is gone even though we missed its DESTROY. */
  private supersede(old: TrackedFlow, at: number): void {
    old.destroyedAt = small(at);
    this.onRetire?.(old);
    const otk = tupleKey(old.record);
    if (this.byTuple.get(otk) === old) this.byTuple.delete(otk);
  }

  /** `base`, or `base<sep>N` when a previous flow (e.g. a destroyed one with a reused id) holds it. */
  private uniqueKey(base: string, sep: string): string {
    if (!this.byKey.has(base)) return base;
    let n = 2;
    while (this.byKey.has(`${base}${sep}${n}`)) n++;
    return `${base}${sep}${n}`;
  }

  private apply(flow: TrackedFlow, rec: FlowRecord, at: number, tk: string, readAt = at): void {
    const prev = flow.record;
    // DESTROY lines may lack the timeout and flags; keep what we knew.
    const id = rec.id ?? prev.id;
    const timeout = rec.event === 'DESTROY' ? (rec.timeout ?? prev.timeout) : rec.timeout;
    if (id === rec.id && timeout === rec.timeout) flow.record = rec;
    else if (rec instanceof CompactRecord) flow.record = rec.with(id, timeout);
    else flow.record = { ...rec, timeout, id };
    if (flow instanceof LiveFlow) signFlow(flow, prev);
    flow.lastSeen = small(Math.max(flow.lastSeen, at));
    if (rec.event === 'NEW') flow.createdAt = small(at);
    if (rec.event === 'DESTROY') {
      flow.destroyedAt = small(at);
      if (this.byTuple.get(tk) === flow) this.byTuple.delete(tk);
    } else if (this.indexIdFlows || flow.record.id === undefined || this.byTuple.has(tk)) {
      this.byTuple.set(tk, flow);
    }
    if (
      rec.event === undefined &&
      rec.timeout !== undefined &&
      isExpectedReading(flow.history, rec.timeout, rec.unreplied, readAt, at)
    )
      return;
    // Always the same four keys, so every entry has one shape.
    const entry: FlowHistoryEntry = {
      at: small(readAt),
      event: rec.event ?? 'LIST',
      timeout: small(rec.timeout),
      unreplied: rec.unreplied,
    };
    flow.history =
      flow.history.length === 0
        ? this.firstHistory(entry)
        : appendBounded(flow.history, entry, this.maxHistory);
  }

  /** The last one-entry history built, shared by the next flow whose first entry is the same. */
  private lastFirst: FlowHistoryEntry[] = NO_HISTORY;

  /**
   * A new flow's history: in a flood, the flows of one read (one chunk of the tail, one time) have the same first
   * entry, and share one array (histories are never mutated: {@link appendBounded} copies). ~110 B a flow.
   */
  private firstHistory(entry: FlowHistoryEntry): FlowHistoryEntry[] {
    const p = this.lastFirst[0];
    if (
      p !== undefined &&
      p.at === entry.at &&
      p.event === entry.event &&
      p.timeout === entry.timeout &&
      p.unreplied === entry.unreplied
    )
      return this.lastFirst;
    this.lastFirst = [entry];
    return this.lastFirst;
  }

  /** Forget a flow entirely (eviction, retention). */
  remove(key: string): void {
    const flow = this.byKey.get(key);
    if (!flow) return;
    if (flow.record.id !== undefined) this.byId.forget(flow.record.id, flow);
    this.byKey.delete(key);
    const tk = tupleKey(flow.record);
    if (this.byTuple.get(tk) === flow) this.byTuple.delete(tk);
  }

  /** Mark a live flow gone without a DESTROY event (e.g. absent from a full dump). */
  markGone(key: string, at: number): void {
    const flow = this.byKey.get(key);
    if (!flow || flow.destroyedAt !== undefined) return;
    this.supersede(flow, at);
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

  /** Plain-data copy of the table for a replay checkpoint (flows in first-seen order, indexes by key). */
  exportState(): FlowTrackerState {
    const flows = [...this.byKey.values()];
    const byId = this.byId.entries();
    const byTuple: Array<[string, string]> = [];
    for (const [tk, f] of this.byTuple) byTuple.push([tk, f.key]);
    return { flows, byId, byTuple };
  }

  /** Replace the table with a checkpoint's (the flows are taken over, not copied). */
  importState(state: FlowTrackerState): void {
    this.byKey.clear();
    this.byId.clear();
    this.byTuple.clear();
    for (const f of state.flows) this.byKey.set(f.key, f);
    this.byId.load(state.byId);
    for (const [tk, key] of state.byTuple) {
      const f = this.byKey.get(key);
      if (f) this.byTuple.set(tk, f);
    }
  }
}

/**
 * Newest flow per conntrack id, without a map entry per flow: a flow keyed by its own id (`"123"`) is found in the
 * key map, so only the exceptions are stored: a newer flow that reused the id (`"123-2"`), a tuple-keyed flow
 * that learnt its id later, or `null` where the newest was removed while the id-keyed one remains.
 */
class IdIndex {
  private readonly exceptions = new Map<number, TrackedFlow | null>();

  constructor(private readonly byKey: FlowKeyMap) {}

  /** The flow keyed by this id itself, if any. */
  private holder(id: number): TrackedFlow | undefined {
    const f = this.byKey.getById(id);
    return f !== undefined && f.record.id === id ? f : undefined;
  }

  get(id: number): TrackedFlow | undefined {
    const e = this.exceptions.get(id);
    if (e !== undefined) return e ?? undefined;
    return this.holder(id);
  }

  /** `flow` is now the newest with this id. */
  set(id: number, flow: TrackedFlow): void {
    // The key map holds `flow` under its own key, so it is this id's holder exactly when that key is the id.
    if (flow.record.id === id && this.byKey.getById(id) === flow) this.exceptions.delete(id);
    else this.exceptions.set(id, flow);
  }

  /** `flow` is being removed from the key map (call before removing it). */
  forget(id: number, flow: TrackedFlow): void {
    const e = this.exceptions.get(id);
    const holder = this.holder(id);
    if (e === flow) {
      // The newest goes: no flow has the id any more, even though the id-keyed one stays.
      if (holder !== undefined && holder !== flow) this.exceptions.set(id, null);
      else this.exceptions.delete(id);
    } else if (e === null && holder === flow) {
      this.exceptions.delete(id);
    }
  }

  clear(): void {
    this.exceptions.clear();
  }

  /** `[id, key]` of every id's newest flow. */
  entries(): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    for (const f of this.byKey.values()) {
      const id = f.record.id;
      if (id !== undefined && !this.exceptions.has(id) && this.holder(id) === f) out.push([id, f.key]);
    }
    for (const [id, f] of this.exceptions) if (f) out.push([id, f.key]);
    return out;
  }

  /** Replace the index with `[id, key]` pairs (the key map already filled). */
  load(pairs: ReadonlyArray<readonly [number, string]>): void {
    this.exceptions.clear();
    const listed = new Set<number>();
    for (const [id, key] of pairs) {
      const f = this.byKey.get(key);
      if (f === undefined) continue;
      listed.add(id);
      this.set(id, f);
    }
    // An id-keyed flow whose id has no newest flow listed: keep it unfindable by id, as it was.
    for (const f of this.byKey.values()) {
      const id = f.record.id;
      if (id !== undefined && !listed.has(id) && this.holder(id) === f) this.exceptions.set(id, null);
    }
  }
}

/** A {@link FlowTracker}'s table as plain data (JSON-safe). */
export interface FlowTrackerState {
  flows: TrackedFlow[];
  byId: Array<[number, string]>;
  byTuple: Array<[string, string]>;
}

/** A new exact-size array: `push` would reserve ~17 slots per flow, which adds up over 250k flows. */
/** Seconds a dump reading may differ from the expected countdown and still be "nothing new" (integer truncation). */
const EXPECTED_READING_SLACK_S = 1;

/**
 * A dump reading that says nothing new: same UNREPLIED state as the last recorded reading, and a timeout that
 * merely counted down since. Such readings are not kept (a busy node's dumps would otherwise fill every flow's
 * history with them); a reset timeout or a changed state is kept, so keep-alive detection sees the same resets.
 */
function isExpectedReading(
  history: readonly FlowHistoryEntry[],
  timeout: number,
  unreplied: boolean,
  readAt: number,
  at: number,
): boolean {
  const last = history[history.length - 1];
  if (!last || last.event === 'DESTROY' || last.timeout === undefined) return false;
  if (last.unreplied !== unreplied) return false;
  // Only a reading that visibly counted down: a timeout that stayed put may be a reset in the making, and
  // keep-alive detection must see it exactly as before.
  if (timeout >= last.timeout) return false;
  // The kernel read it somewhere in [readAt, at] (a long dump): any countdown in that window is expected.
  const latest = last.timeout - (readAt - last.at) / 1000;
  const earliest = last.timeout - (at - last.at) / 1000;
  return timeout <= latest + EXPECTED_READING_SLACK_S && timeout >= earliest - EXPECTED_READING_SLACK_S;
}

/**
 * When a known flow's reading observed at `at` was taken: a line of a long dump read somewhere in [readFrom, at] is
 * dated at the earliest it can be (`readFrom`, or the flow's last input if later).
 */
function readingTime(flow: TrackedFlow, at: number, readFrom: number | undefined): number {
  return readFrom !== undefined ? Math.min(at, Math.max(readFrom, flow.lastSeen)) : at;
}

/** Whether two records have the same tuples: compact records compare their fields, others their tuple objects. */
function sameTuples(a: FlowRecord, b: FlowRecord): boolean {
  if (a instanceof CompactRecord && b instanceof CompactRecord) return a.sameTuples(b);
  return a.orig === b.orig && a.reply === b.reply;
}

/** Keep a live flow's tuple signature in step with its record (unchanged when the record kept its tuples). */
function signFlow(flow: LiveFlow, prev: FlowRecord): void {
  const r = flow.record;
  if (
    flow.sig0 !== 0 &&
    r !== prev &&
    sameTuples(r, prev) &&
    r.protonum === prev.protonum &&
    r.zone === prev.zone
  )
    return;
  if (recordSignature(r)) {
    flow.sig0 = recordSig.sig0;
    flow.sig1 = recordSig.sig1;
  } else {
    flow.sig0 = 0;
    flow.sig1 = 0;
  }
}

function appendBounded<T>(list: T[], item: T, max: number): T[] {
  const start = list.length >= max ? list.length - max + 1 : 0;
  const out = new Array<T>(list.length - start + 1);
  for (let i = start; i < list.length; i++) out[i - start] = list[i]!;
  out[out.length - 1] = item;
  return out;
}
