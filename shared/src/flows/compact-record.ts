/** The small fixed-shape records the live table keeps per flow, and the address interner they share strings through. */
import type { ConntrackEventType, FlowRecord, Tuple } from '../conntrack/conntrack-types.js';

/**
 * One direction of a live flow: addresses and ports only. A class so every instance has one in-object shape
 * (an object literal with optional keys takes several shapes and spills fields to a separate property array).
 */
export class CompactTuple implements Tuple {
  src: string;
  dst: string;
  sport: number | undefined;
  dport: number | undefined;

  constructor(src: string, dst: string, sport: number | undefined, dport: number | undefined) {
    this.src = src;
    this.dst = dst;
    this.sport = sport;
    this.dport = dport;
  }
}

/**
 * The fields the live table, the classifier and the remedy need, in one fixed shape: the parser's full record
 * (26 fields, two 10-field tuples) would cost about twice the memory at 250k flows. The raw line is recorded,
 * so a detail view loses nothing it could show.
 */
export class CompactRecord implements FlowRecord {
  readonly kind = 'flow' as const;
  event: ConntrackEventType | undefined;
  proto: string;
  protonum: number;
  timeout: number | undefined;
  state: string | undefined;
  orig: CompactTuple;
  reply: CompactTuple;
  unreplied: boolean;
  assured: boolean;
  zone: number | undefined;
  mark: number | undefined;
  id: number | undefined;

  constructor(r: FlowRecord, orig: CompactTuple, reply: CompactTuple) {
    this.event = r.event;
    this.proto = r.proto;
    this.protonum = small(r.protonum);
    this.timeout = small(r.timeout);
    this.state = r.state;
    this.orig = orig;
    this.reply = reply;
    this.unreplied = r.unreplied;
    this.assured = r.assured;
    this.zone = small(r.zone);
    this.mark = small(r.mark);
    this.id = r.id;
  }

  /**
   * Take a dump reading that only counted the timeout down: no event, the listing's timeout and mark. The one
   * change made in place (a full dump re-reads every flow, and a copy each would be 250k records of garbage);
   * nothing a verdict reads changes, and reports copy the fields.
   */
  takeReading(timeout: number | undefined, mark: number | undefined): void {
    this.event = undefined;
    this.timeout = small(timeout);
    this.mark = small(mark);
  }

  /** The same record with another id and timeout (the tuples are shared; otherwise records are not mutated). */
  with(id: number | undefined, timeout: number | undefined): CompactRecord {
    const c = new CompactRecord(this, this.orig, this.reply);
    c.id = id;
    c.timeout = timeout;
    return c;
  }
}

/**
 * `n` as a small integer when it is one. The parser reads numbers through a Float64Array, and V8 stores such a
 * value in a boxed heap number (16 bytes, and the field turns boxed for every record); `| 0` makes it inline.
 */
export function small<T extends number | undefined>(n: T): T {
  return (n !== undefined && (n | 0) === n ? n | 0 : n) as T;
}

/** Distinct strings an {@link AddressInterner} holds before it starts over (bounds the map itself). */
export const DEFAULT_INTERNER_CAPACITY = 100_000;

/**
 * Canonical copies of addresses, so 250k flows to one VIP share one string. The copies are made flat on purpose:
 * V8 slices substrings of 13+ characters out of their line, and one such slice kept by a flow pins the whole
 * line, or, for a dump split from one big output, the whole dump. Interning the parser's slice kept every full
 * dump a flow's address happened to come from alive.
 */
export class AddressInterner {
  private readonly map = new Map<string, string>();

  constructor(private readonly capacity = DEFAULT_INTERNER_CAPACITY) {}

  /** The canonical copy of `s` (a flat string that shares no storage with the line it came from). */
  canon(s: string): string {
    const c = this.map.get(s);
    if (c !== undefined) return c;
    if (this.map.size >= this.capacity) this.map.clear();
    const flat = flatCopy(s);
    this.map.set(flat, flat);
    return flat;
  }

  /** Distinct strings held. */
  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }

  /**
   * The compact form of a parsed record, its addresses interned. Tuples equal to `prev`'s are shared rather than
   * rebuilt: a flow's tuples rarely change, and a full dump re-reads every flow at once.
   */
  compact(r: FlowRecord, prev?: FlowRecord): CompactRecord {
    return new CompactRecord(r, this.tuple(r.orig, prev?.orig), this.tuple(r.reply, prev?.reply));
  }

  private tuple(t: Tuple, prev: Tuple | undefined): CompactTuple {
    if (
      prev instanceof CompactTuple &&
      prev.src === t.src &&
      prev.dst === t.dst &&
      prev.sport === t.sport &&
      prev.dport === t.dport
    )
      return prev;
    return new CompactTuple(this.canon(t.src), this.canon(t.dst), small(t.sport), small(t.dport));
  }
}

/** Below this length V8 copies substrings instead of slicing them, so they pin nothing. */
const SLICE_MIN_LENGTH = 13;

/** A copy of `s` in fresh flat storage (a join builds a new sequential string). */
export function flatCopy(s: string): string {
  return s.length < SLICE_MIN_LENGTH ? s : s.split('').join('');
}
