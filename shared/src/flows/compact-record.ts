/** The small fixed-shape records the live table keeps per flow, and the address interner they share strings through. */
import type { ConntrackEventType, FlowRecord, Tuple } from '../conntrack/conntrack-types.js';

/** One direction of a live flow: addresses and ports only, as a {@link CompactRecord} hands it out. */
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
 * so a detail view loses nothing it could show. The tuples' addresses and ports are fields of the record itself:
 * a record and its two tuple objects took 240 B of heap, the record with them inline 168 B (18 MB less at 250k
 * flows). `orig` and `reply` build a tuple on each read: young garbage, a few short-lived objects per event.
 */
export class CompactRecord implements FlowRecord {
  event: ConntrackEventType | undefined;
  proto: string;
  protonum: number;
  timeout: number | undefined;
  state: string | undefined;
  origSrc: string;
  origDst: string;
  origSport: number | undefined;
  origDport: number | undefined;
  replySrc: string;
  replyDst: string;
  replySport: number | undefined;
  replyDport: number | undefined;
  unreplied: boolean;
  assured: boolean;
  zone: number | undefined;
  mark: number | undefined;
  id: number | undefined;

  /** `r`'s fields with these addresses (canonical copies: see {@link AddressInterner}) and `r`'s ports. */
  constructor(r: FlowRecord, origSrc: string, origDst: string, replySrc: string, replyDst: string) {
    const o = r.orig;
    const p = r.reply;
    this.event = r.event;
    this.proto = r.proto;
    this.protonum = small(r.protonum);
    this.timeout = small(r.timeout);
    this.state = r.state;
    this.origSrc = origSrc;
    this.origDst = origDst;
    this.origSport = small(o.sport);
    this.origDport = small(o.dport);
    this.replySrc = replySrc;
    this.replyDst = replyDst;
    this.replySport = small(p.sport);
    this.replyDport = small(p.dport);
    this.unreplied = r.unreplied;
    this.assured = r.assured;
    this.zone = small(r.zone);
    this.mark = small(r.mark);
    this.id = r.id;
  }

  get kind(): 'flow' {
    return 'flow';
  }

  get orig(): CompactTuple {
    return new CompactTuple(this.origSrc, this.origDst, this.origSport, this.origDport);
  }

  get reply(): CompactTuple {
    return new CompactTuple(this.replySrc, this.replyDst, this.replySport, this.replyDport);
  }

  /** Whether `r` has the same addresses and ports in both directions. */
  sameTuples(r: CompactRecord): boolean {
    return (
      this.origSrc === r.origSrc &&
      this.origDst === r.origDst &&
      this.origSport === r.origSport &&
      this.origDport === r.origDport &&
      this.replySrc === r.replySrc &&
      this.replyDst === r.replyDst &&
      this.replySport === r.replySport &&
      this.replyDport === r.replyDport
    );
  }

  /** The record as the parser's shape (checkpoints and exports serialise records). */
  toJSON(): FlowRecord {
    return {
      kind: 'flow',
      event: this.event,
      proto: this.proto,
      protonum: this.protonum,
      timeout: this.timeout,
      state: this.state,
      orig: this.orig,
      reply: this.reply,
      unreplied: this.unreplied,
      assured: this.assured,
      zone: this.zone,
      mark: this.mark,
      id: this.id,
    };
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

  /** The same record with another id and timeout (otherwise records are not mutated). */
  with(id: number | undefined, timeout: number | undefined): CompactRecord {
    const c = new CompactRecord(this, this.origSrc, this.origDst, this.replySrc, this.replyDst);
    c.id = id;
    c.timeout = timeout;
    return c;
  }
}

/** Whether a record's original direction has both ports (read without building a tuple from a compact record). */
export function hasOrigPorts(r: FlowRecord): boolean {
  if (r instanceof CompactRecord) return r.origSport !== undefined && r.origDport !== undefined;
  return r.orig.sport !== undefined && r.orig.dport !== undefined;
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
   * The compact form of a parsed record, its addresses interned. Addresses equal to `prev`'s are taken from it
   * without a lookup: a flow's tuples rarely change, and a full dump re-reads every flow at once.
   */
  compact(r: FlowRecord, prev?: FlowRecord): CompactRecord {
    const o = r.orig;
    const p = r.reply;
    if (prev instanceof CompactRecord)
      return new CompactRecord(
        r,
        o.src === prev.origSrc ? prev.origSrc : this.canon(o.src),
        o.dst === prev.origDst ? prev.origDst : this.canon(o.dst),
        p.src === prev.replySrc ? prev.replySrc : this.canon(p.src),
        p.dst === prev.replyDst ? prev.replyDst : this.canon(p.dst),
      );
    return new CompactRecord(r, this.canon(o.src), this.canon(o.dst), this.canon(p.src), this.canon(p.dst));
  }
}

/** Below this length V8 copies substrings instead of slicing them, so they pin nothing. */
const SLICE_MIN_LENGTH = 13;

/** A copy of `s` in fresh flat storage (a join builds a new sequential string). */
export function flatCopy(s: string): string {
  return s.length < SLICE_MIN_LENGTH ? s : s.split('').join('');
}
