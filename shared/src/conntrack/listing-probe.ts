/**
 * A quick read of a plain `conntrack -L` line that builds no record: its id, timeout, mark and flags, and a
 * signature of its tuples that a live flow's record can be compared with, so a full dump's lines that only count
 * a timeout down are taken without parsing them into objects.
 */
import type { FlowRecord } from './conntrack-types.js';
import { ipLiteralVersionBytes } from './ip-literal.js';
import { utf8Encoder } from './utf8-encoder.js';

// Why: after a flood, a full dump re-reads 250k entries the live table already holds. Parsing each into a record
// (two tuples, four address strings) and comparing it field by field with the flow's record, its two tuples and
// their interned addresses, scattered over a large heap, cost ~10 µs a line on the main thread; most of it was
// garbage collection and cache misses, not the scan.

/** What {@link probeListingLine} read from the last line it accepted (one reused object). */
export interface ListingProbe {
  /** Conntrack id (`id=`). */
  id: number;
  /** Remaining timeout, seconds. */
  timeout: number;
  /** `mark=`, when printed. */
  mark: number | undefined;
  unreplied: boolean;
  assured: boolean;
  /** Layer 4 protocol number. */
  protonum: number;
  /** The tuples' signature, two 32-bit halves (see {@link recordSignature}). */
  sig0: number;
  sig1: number;
}

const probe: ListingProbe = {
  id: 0,
  timeout: 0,
  mark: undefined,
  unreplied: false,
  assured: false,
  protonum: 0,
  sig0: 0,
  sig1: 0,
};

// ---- The signature: one definition, fed from a record's strings or from a line's bytes ----

/** Running halves of the signature being built. */
let h0 = 0;
let h1 = 0;

function sigStart(protonum: number): void {
  h0 = 0x811c9dc5 ^ protonum;
  h1 = Math.imul(0x9e3779b1, protonum + 1);
}

/** Mix one unit (a character code, a separator or a port) into both halves. */
function sigMix(c: number): void {
  h0 = Math.imul(h0 ^ c, 0x01000193);
  h1 = Math.imul(h1 ^ c, 0x5bd1e995);
  h1 ^= h1 >>> 15;
}

/** Separator after an address; ports are mixed as values above every character code. */
const SEP = 0x10000;
const PORT = 0x20000;

/** Signature halves; the first is odd, so 0 never matches (a flow without one). */
function sigEnd(out: { sig0: number; sig1: number }): void {
  out.sig0 = (h0 ^ (h1 >>> 7)) | 1;
  out.sig1 = h1 ^ (h0 >>> 11);
}

function sigString(s: string): void {
  for (let i = 0; i < s.length; i++) sigMix(s.charCodeAt(i));
  sigMix(SEP);
}

/** Where {@link recordSignature} puts its result. */
export const recordSig = { sig0: 0, sig1: 0 };

/**
 * The signature of a record's protocol and tuples (addresses and ports) into {@link recordSig}; false when the
 * record has no ports or carries a zone, which a probed line never matches.
 */
export function recordSignature(r: Pick<FlowRecord, 'protonum' | 'orig' | 'reply' | 'zone'>): boolean {
  const o = r.orig;
  const p = r.reply;
  if (
    r.zone !== undefined ||
    o.sport === undefined ||
    o.dport === undefined ||
    p.sport === undefined ||
    p.dport === undefined
  )
    return false;
  sigStart(r.protonum);
  sigString(o.src);
  sigString(o.dst);
  sigMix(PORT + o.sport);
  sigMix(PORT + o.dport);
  sigString(p.src);
  sigString(p.dst);
  sigMix(PORT + p.sport);
  sigMix(PORT + p.dport);
  sigEnd(recordSig);
  return true;
}

// ---- The probe ----

const SPACE = 32;
const EQ = 61;
const LBRACKET = 91;

/** Zero bytes after the line: the key checks below look up to 8 bytes ahead. */
const PAD = 16;
/** Longer lines are left to the parser (a listing line is ~200 bytes). */
const MAX_LINE = 1024;
const buf = new Uint8Array(MAX_LINE + PAD);

/** Header words: `[l3 l3num] proto protonum timeout`, nothing else (no state word: not a probed protocol). */
const wordStart = new Int32Array(6);
const wordEnd = new Int32Array(6);

/** Digits from `a` to the next space or the end, as a number; -1 when anything else is there. */
let numEnd = 0;
function uintAt(a: number, end: number): number {
  let n = 0;
  let i = a;
  while (i < end) {
    const d = buf[i]! - 48;
    if (d >>> 0 > 9) break;
    n = n * 10 + d;
    i++;
  }
  numEnd = i;
  if (i === a || (i < end && buf[i] !== SPACE) || i - a > 10) return -1;
  return n;
}

/** Mix the address from `a` to the next space into the signature; the index after it, or -1 unless it is a strict IP literal (as the parser requires). */
function addressAt(a: number, end: number): number {
  let i = a;
  while (i < end && buf[i] !== SPACE) i++;
  if (ipLiteralVersionBytes(buf, a, i) === 0) return -1;
  for (let j = a; j < i; j++) sigMix(buf[j]!);
  sigMix(SEP);
  return i;
}

const K_UDP = [117, 100, 112];
const K_UDPLITE = [117, 100, 112, 108, 105, 116, 101];
const K_PACKETS = [112, 97, 99, 107, 101, 116, 115, EQ];
const K_BYTES = [98, 121, 116, 101, 115, EQ];

function bytesAt(i: number, k: readonly number[]): boolean {
  for (let j = 0; j < k.length; j++) if (buf[i + j] !== k[j]) return false;
  return true;
}

function isLetters(a: number, e: number): boolean {
  for (let i = a; i < e; i++) {
    const c = buf[i]!;
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57))) return false;
  }
  return e > a && buf[a]! >= 97;
}

function isDigits(a: number, e: number): boolean {
  for (let i = a; i < e; i++) if (buf[i]! - 48 > 9 || buf[i]! < 48) return false;
  return e > a;
}

/**
 * Read a plain listing line (`[l3 l3num] proto protonum timeout src= dst= sport= dport= [flags] src= dst= sport=
 * dport= [flags] [mark=] [use=] id=`, single spaces, ASCII); undefined for anything else (an event line, a zone, a
 * state, ICMP, an unknown key, a missing id), which the full parser then reads. Reuses one result object.
 */
export function probeListingLine(line: string): ListingProbe | undefined {
  const n = line.length;
  if (n > MAX_LINE || n === 0 || utf8Encoder === undefined) return undefined;
  const r = utf8Encoder.encodeInto(line, buf);
  if (r.read !== n || r.written !== n) return undefined;
  for (let j = n; j < n + PAD; j++) buf[j] = 0;
  const end = n;
  let i = 0;
  if (buf[0] === LBRACKET) return undefined;
  // Header words, up to the first `key=`.
  let words = 0;
  while (i < end) {
    while (i < end && buf[i] === SPACE) i++;
    const a = i;
    while (i < end && buf[i] !== SPACE && buf[i] !== EQ) i++;
    if (buf[i] === EQ) {
      i = a;
      break;
    }
    if (words === 6) return undefined;
    wordStart[words] = a;
    wordEnd[words] = i;
    words++;
  }
  let w = 0;
  if (words === 5) {
    if (!isLetters(wordStart[0]!, wordEnd[0]!) || !isDigits(wordStart[1]!, wordEnd[1]!)) return undefined;
    w = 2;
  } else if (words !== 3) return undefined;
  const protonum = uintAt(wordStart[w + 1]!, wordEnd[w + 1]!);
  const timeout = uintAt(wordStart[w + 2]!, wordEnd[w + 2]!);
  if (protonum < 0 || timeout < 0) return undefined;
  // Protocols with ports and no state word, by name and number as conntrack prints them: udp, udplite. (The
  // signature has the number; the live table compares names.)
  const name = protonum === 17 ? K_UDP : protonum === 136 ? K_UDPLITE : undefined;
  if (name === undefined || wordEnd[w]! - wordStart[w]! !== name.length || !bytesAt(wordStart[w]!, name))
    return undefined;

  sigStart(protonum);
  // Tuple fields seen, as bits: orig src dst sport dport, reply src dst sport dport.
  let seen = 0;
  let phase = 0;
  let unreplied = false;
  let assured = false;
  let mark = -1;
  let id = -1;
  let sport = -1;
  let dport = -1;
  while (i < end) {
    const c = buf[i]!;
    if (c === SPACE) {
      i++;
      continue;
    }
    const c1 = buf[i + 1]!;
    const c2 = buf[i + 2]!;
    const c3 = buf[i + 3]!;
    if (c === 115 && c1 === 114 && c2 === 99 && c3 === EQ) {
      // src= opens a tuple: the previous one's ports go in after its addresses, as recordSignature has them.
      if (phase === 2) return undefined;
      if (phase === 1) {
        if (seen !== 0b1111) return undefined;
        sigMix(PORT + sport);
        sigMix(PORT + dport);
      }
      phase++;
      const e = addressAt(i + 4, end);
      if (e < 0) return undefined;
      seen |= phase === 1 ? 1 : 16;
      i = e;
      continue;
    }
    if (c === 100 && c1 === 115 && c2 === 116 && c3 === EQ) {
      // dst=
      const bit = phase === 1 ? 2 : phase === 2 ? 32 : 0;
      if (bit === 0 || seen & bit || !(seen & (bit >> 1))) return undefined;
      const e = addressAt(i + 4, end);
      if (e < 0) return undefined;
      seen |= bit;
      i = e;
      continue;
    }
    if ((c === 115 || c === 100) && c1 === 112 && c2 === 111 && c3 === 114 && buf[i + 4] === 116) {
      // sport= / dport=
      if (buf[i + 5] !== EQ || phase === 0) return undefined;
      const bit = (c === 115 ? 4 : 8) << (phase === 1 ? 0 : 4);
      if (seen & bit) return undefined;
      const port = uintAt(i + 6, end);
      if (port < 0 || port > 65535) return undefined;
      if (c === 115) sport = port;
      else dport = port;
      seen |= bit;
      i = numEnd;
      continue;
    }
    if (c === LBRACKET) {
      if (c1 === 85 && buf[i + 10] === 93 && c2 === 78 && c3 === 82 && buf[i + 9] === 68) {
        // [UNREPLIED]
        unreplied = true;
        i += 11;
      } else if (c1 === 65 && buf[i + 8] === 93 && c2 === 83 && buf[i + 7] === 68) {
        // [ASSURED]
        assured = true;
        i += 9;
      } else return undefined;
      if (i < end && buf[i] !== SPACE) return undefined;
      continue;
    }
    if (c === 109 && c1 === 97 && c2 === 114 && c3 === 107 && buf[i + 4] === EQ) {
      // mark=
      if (mark >= 0 || phase === 0) return undefined;
      mark = uintAt(i + 5, end);
      if (mark < 0) return undefined;
      i = numEnd;
      continue;
    }
    if (c === 117 && c1 === 115 && c2 === 101 && c3 === EQ) {
      // use= (ignored, as by the live table)
      if (phase === 0 || uintAt(i + 4, end) < 0) return undefined;
      i = numEnd;
      continue;
    }
    if (
      (c === 112 && c1 === 97 && c2 === 99 && c3 === 107 && bytesAt(i, K_PACKETS)) ||
      (c === 98 && c1 === 121 && c2 === 116 && c3 === 101 && bytesAt(i, K_BYTES))
    ) {
      // packets= / bytes= (accounting, ignored as by the live table), in a tuple
      if (phase === 0) return undefined;
      const a = i + (c === 112 ? 8 : 6);
      if (uintAt(a, end) < 0) return undefined;
      i = numEnd;
      continue;
    }
    if (c === 105 && c1 === 100 && c2 === EQ) {
      // id=
      if (id >= 0 || phase === 0) return undefined;
      id = uintAt(i + 3, end);
      if (id < 0) return undefined;
      i = numEnd;
      continue;
    }
    return undefined;
  }
  if (seen !== 0xff || id < 0) return undefined;
  sigMix(PORT + sport);
  sigMix(PORT + dport);
  sigEnd(probe);
  probe.id = id;
  probe.timeout = timeout;
  probe.mark = mark < 0 ? undefined : mark;
  probe.unreplied = unreplied;
  probe.assured = assured;
  probe.protonum = protonum;
  return probe;
}
