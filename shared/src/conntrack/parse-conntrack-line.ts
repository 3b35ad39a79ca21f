/** Hand-written scanner for one line of `conntrack -E/-L/-S/-C` text output; never throws. */

import type { ConntrackEventType, FlowRecord, ParseError, ParseResult, Tuple } from './conntrack-types.js';
import { ipLiteralVersionBytes } from './ip-literal.js';
import { utf8Encoder } from './utf8-encoder.js';

// The scanner works on char codes and index pairs (no split, no per-token regex): the event
// stream can reach ~170k lines/s and the parser must stay far ahead of it.
//
// Flow lines are scanned as bytes: the line is first copied into a reused Uint8Array with one native
// `TextEncoder.encodeInto` call (one byte per UTF-16 unit for ASCII lines), and every later read is a plain
// typed-array load. `charCodeAt` costs several times more per character, above all on the cons and sliced
// strings that template literals and line splitters produce. Values are still sliced from the string.
//
// Section map (top to bottom):
//   constants and the byte view of the line ... loadBytes, ascii, bytesAt, keyword bytes
//   shared words and small readers .......... KNOWN_WORDS/word, fail, readUint, tuple, addExtra
//   entry point and line kinds .............. parseConntrackLine → parseLine → parseNotice, parseToolMessage,
//                                             parseCpuStats (the -S/-C and stderr lines), else parseFlow
//   token scanning .......................... scanUint, tokenEnd, valueEnd, addressEnd, badValue, badPort
//   header ................................... h* results, header memo (memoSlot, memoRecall, memoKeep),
//                                             parseHeader (event tag, l3, proto, timeout, state)
//   parseFlow ................................ timestamp prefix; header (memo or parseHeader); key=value loop
//                                             dispatching on the first byte (tuples by position: first src=
//                                             orig, second reply; flags; counters; unknown keys kept);
//                                             completeness checks; the record

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const EQ = 61;
const LBRACKET = 91;
const RBRACKET = 93;

/** Longest `raw` kept in an error record; a garbage line can be arbitrarily long. */
const MAX_RAW = 1024;

// Header words (before the first `key=value`): at most l3, l3num, proto, protonum, timeout, state.
const MAX_HEADER_WORDS = 6;
const wordStart = new Int32Array(MAX_HEADER_WORDS + 1);
const wordEnd = new Int32Array(MAX_HEADER_WORDS + 1);
const wordNum = new Float64Array(MAX_HEADER_WORDS + 1);
const wordLower = new Uint8Array(MAX_HEADER_WORDS + 1);

/** Index just past the digits read by the last `scanUint` call (a second return value without allocating). */
let numEnd = 0;

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];

// ---- Byte view of the current line ----

/**
 * Zero bytes kept after the line, so the fixed lookaheads below (at most 12 past a position inside the
 * line) read 0, which matches nothing, instead of a previous line's bytes; `charCodeAt` gives NaN there.
 */
const PAD = 16;
/** Larger buffers are used for one line and dropped, so one huge garbage line does not pin memory. */
const KEEP_BYTES = 1 << 16;
/** Stands for every non-ASCII UTF-16 unit: the scanner only ever compares against ASCII codes. */
const NON_ASCII = 0xff;
let lineBuf = new Uint8Array(1024);

/** `line` as one byte per UTF-16 unit (ASCII kept, anything else {@link NON_ASCII}), then PAD zeros. */
function loadBytes(line: string, n: number): Uint8Array {
  let b = lineBuf;
  if (n + PAD > b.length) {
    const size = Math.max(n + PAD, b.length * 2);
    b = new Uint8Array(size);
    if (size <= KEEP_BYTES) lineBuf = b;
  }
  let ascii = false;
  if (utf8Encoder !== undefined) {
    // UTF-8 is one byte per unit exactly when every unit is ASCII; otherwise positions would shift.
    const r = utf8Encoder.encodeInto(line, b);
    ascii = r.read === n && r.written === n;
  }
  if (!ascii) {
    for (let j = 0; j < n; j++) {
      const c = line.charCodeAt(j);
      b[j] = c < 128 ? c : NON_ASCII;
    }
  }
  for (let j = n; j < n + PAD; j++) b[j] = 0;
  return b;
}

/** Byte codes of an ASCII keyword. */
function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let j = 0; j < s.length; j++) out[j] = s.charCodeAt(j);
  return out;
}

/** Whether keyword `k` (at most PAD bytes, no zero byte) is at `i`; `i` is inside the line. */
function bytesAt(b: Uint8Array, i: number, k: Uint8Array): boolean {
  for (let j = 0; j < k.length; j++) if (b[i + j] !== k[j]) return false;
  return true;
}

const K_UPDATE = ascii('[UPDATE]');
const K_DESTROY = ascii('[DESTROY]');
const K_USERSPACE = ascii('[USERSPACE]');
const K_OFFLOAD = ascii('[OFFLOAD]');
const K_HW_OFFLOAD = ascii('[HW_OFFLOAD]');
const K_SECMARK = ascii('secmark=');
const K_SECCTX = ascii('secctx=');
const K_DELTA_TIME = ascii('delta-time=');
const K_MARK = ascii('mark=');
const K_USE = ascii('use=');
const K_TYPE = ascii('type=');
const K_CODE = ascii('code=');
const K_ZONE = ascii('zone=');
const K_ZONE_ORIG = ascii('zone-orig=');
const K_ZONE_REPLY = ascii('zone-reply=');
const K_PACKETS = ascii('packets=');
const K_PORTID = ascii('portid=');
const K_PROGNAME = ascii('progname=');
const K_BYTES = ascii('bytes=');
const K_LABELS = ascii('labels=');
const K_HELPER = ascii('helper=');

/**
 * Names and states conntrack prints on every line, returned as shared constants instead of fresh slices:
 * fewer allocations, and consumers comparing them (`proto === 'udp'`) hit the identity fast path.
 */
const KNOWN_WORDS = [
  'udp',
  'tcp',
  'icmp',
  'icmpv6',
  'ipv4',
  'ipv6',
  'sctp',
  'dccp',
  'gre',
  'udplite',
  'unknown',
  'ESTABLISHED',
  'TIME_WAIT',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'CLOSE',
  'NONE',
];
/** {@link KNOWN_WORDS} indices by length, so a lookup compares only same-length candidates. */
const KNOWN_BY_LENGTH: number[][] = [];
for (let k = 0; k < KNOWN_WORDS.length; k++) {
  const len = KNOWN_WORDS[k]!.length;
  while (KNOWN_BY_LENGTH.length <= len) KNOWN_BY_LENGTH.push([]);
  KNOWN_BY_LENGTH[len]!.push(k);
}
const KNOWN_BYTES = KNOWN_WORDS.map(ascii);

/** `line.slice(a, e)`, as a shared constant when it is one of {@link KNOWN_WORDS}. */
function word(line: string, b: Uint8Array, a: number, e: number): string {
  const len = e - a;
  if (len < KNOWN_BY_LENGTH.length) {
    const candidates = KNOWN_BY_LENGTH[len]!;
    for (let k = 0; k < candidates.length; k++) {
      const index = candidates[k]!;
      const w = KNOWN_BYTES[index]!;
      let j = 0;
      while (j < len && b[a + j] === w[j]) j++;
      if (j === len) return KNOWN_WORDS[index]!;
    }
  }
  return line.slice(a, e);
}

function fail(reason: string, line: string): ParseError {
  return { kind: 'error', reason, raw: line.length > MAX_RAW ? line.slice(0, MAX_RAW) : line };
}

/** Decimal digits in [a, b) as a number, or -1 when empty or not all digits. */
function readUint(s: string, a: number, b: number): number {
  if (a >= b) return -1;
  let n = 0;
  for (let i = a; i < b; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** End of a lower-case protocol/l3 name as conntrack prints them (`udp`, `icmpv6`, `ipv4`, `unknown`). */
function lowerWordEnd(b: Uint8Array, a: number, end: number): number {
  let i = a;
  while (i < end) {
    const c = b[i]!;
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45)) break;
    i++;
  }
  return i;
}

/** TCP/SCTP/DCCP state words: `ESTABLISHED`, `SYN_SENT2`, `COOKIE_WAIT`... */
function isStateWord(b: Uint8Array, a: number, e: number): boolean {
  const first = b[a]!;
  if (!(first >= 65 && first <= 90)) return false;
  for (let i = a + 1; i < e; i++) {
    const c = b[i]!;
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95)) return false;
  }
  return true;
}

function isPortProto(protonum: number): boolean {
  // tcp, udp, dccp, sctp, udplite: the protocols conntrack prints sport/dport for.
  return protonum === 6 || protonum === 17 || protonum === 33 || protonum === 132 || protonum === 136;
}

function undef(n: number): number | undefined {
  return n < 0 ? undefined : n;
}

function tuple(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  icmpType: number,
  icmpCode: number,
  icmpId: number,
  zone: number,
  packets: number,
  bytes: number,
): Tuple {
  // Every tuple gets the same property set so consumers see one object shape.
  return {
    src,
    dst,
    sport: undef(sport),
    dport: undef(dport),
    icmpType: undef(icmpType),
    icmpCode: undef(icmpCode),
    icmpId: undef(icmpId),
    zone: undef(zone),
    packets: undef(packets),
    bytes: undef(bytes),
  };
}

function addExtra(
  extra: Record<string, string> | undefined,
  key: string,
  value: string,
  inReply: boolean,
): Record<string, string> {
  // Null prototype: keys come from the input, and `__proto__=x` must stay an ordinary key.
  const out = extra ?? (Object.create(null) as Record<string, string>);
  // Per-tuple unknowns (e.g. GRE srckey/dstkey) appear twice; keep the reply copy apart.
  out[inReply && key in out ? `reply.${key}` : key] = value;
  return out;
}

/** Parses one line of `conntrack` text output into a record, or an error record; never throws. */
export function parseConntrackLine(line: string): ParseResult {
  if (typeof line !== 'string') return { kind: 'error', reason: 'not a string', raw: String(line) };
  try {
    return parseLine(line);
  } catch (err) {
    // Last resort only: the scanner is written not to throw.
    return fail(`internal parser error: ${String(err)}`, line);
  }
}

function parseLine(line: string): ParseResult {
  const b = loadBytes(line, line.length);
  let end = line.length;
  while (end > 0) {
    const c = b[end - 1]!;
    if (c !== SPACE && c !== TAB && c !== CR && c !== LF) break;
    end--;
  }
  let i = 0;
  while (i < end) {
    const c = b[i]!;
    if (c !== SPACE && c !== TAB) break;
    i++;
  }
  if (i >= end) return { kind: 'blank' };

  const c0 = b[i]!;
  if (c0 === LBRACKET) return parseFlow(line, b, i, end);
  if (c0 >= 48 && c0 <= 57) {
    const n = readUint(line, i, end);
    if (n >= 0) return { kind: 'count', count: n };
    return fail('unrecognised line', line);
  }
  if (c0 === 99 /* c */) {
    if (line.startsWith('conntrack v', i)) return parseToolMessage(line, i, end);
    if (line.startsWith('cpu=', i)) return parseCpuStats(line, i, end);
  }
  if (c0 === 45 /* - */ && end - i === 2 && b[i + 1] === 45) return { kind: 'blank' };
  if (c0 >= 65 && c0 <= 90) return parseNotice(line, b, i, end);
  return parseFlow(line, b, i, end);
}

/** Upper-case stderr lines: the ENOBUFS warning, its hint lines, and the buffer-size notice. */
function parseNotice(line: string, b: Uint8Array, i: number, end: number): ParseResult {
  if (line.startsWith('WARNING: We have hit ENOBUFS', i)) {
    return { kind: 'event-loss', reason: 'ENOBUFS', raw: line.slice(i, end) };
  }
  // The two hint lines conntrack prints after the ENOBUFS warning, and the `-b` notice.
  if (
    line.startsWith('This message means that the current netlink socket buffer', i) ||
    line.startsWith('Please, check --buffer-size', i) ||
    line.startsWith('NOTICE: Netlink socket buffer size', i)
  ) {
    return { kind: 'blank' };
  }
  return parseFlow(line, b, i, end);
}

/** `conntrack vX (conntrack-tools): ...` on stderr: dump summary, old fatal ENOBUFS, or another message. */
function parseToolMessage(line: string, i: number, end: number): ParseResult {
  const vStart = i + 'conntrack v'.length;
  let p = vStart;
  while (p < end && line.charCodeAt(p) !== SPACE) p++;
  const version = line.slice(vStart, p);
  const tag = ' (conntrack-tools): ';
  if (!line.startsWith(tag, p)) return fail('unrecognised line', line);
  const msgStart = p + tag.length;
  const msg = line.slice(msgStart, end);
  const m = /^(\d+) flow (?:entries|events) have been shown\.$/.exec(msg);
  if (m) return { kind: 'summary', count: Number(m[1]), version: version || undefined };
  // conntrack < 1.4.6 exits on netlink overflow instead of warning.
  if (msg.startsWith('Operation failed: No buffer space available')) {
    return { kind: 'event-loss', reason: 'ENOBUFS', raw: line.slice(i, end) };
  }
  return fail(`conntrack message: ${msg}`, line);
}

/** `cpu=N \tfound=0 invalid=12 ...` from `conntrack -S`. */
function parseCpuStats(line: string, i: number, end: number): ParseResult {
  let cpu = -1;
  const counters = Object.create(null) as Record<string, number>; // keys come from the input
  while (i < end) {
    let c = line.charCodeAt(i);
    if (c === SPACE || c === TAB) {
      i++;
      continue;
    }
    const s = i;
    let eq = -1;
    while (i < end) {
      c = line.charCodeAt(i);
      if (c === SPACE || c === TAB) break;
      if (c === EQ && eq < 0) eq = i;
      i++;
    }
    if (eq <= s) return fail(`bad counter "${line.slice(s, i)}"`, line);
    const v = readUint(line, eq + 1, i);
    if (v < 0) return fail(`bad counter "${line.slice(s, i)}"`, line);
    if (cpu < 0) {
      cpu = v;
      continue;
    }
    counters[line.slice(s, eq)] = v;
  }
  return { kind: 'cpu-stats', cpu, counters };
}

/** Digits from `a` as a number, or -1 if there are none; leaves the index after the digits in `numEnd`. */
function scanUint(b: Uint8Array, a: number, end: number): number {
  let n = 0;
  let i = a;
  while (i < end) {
    const d = b[i]! - 48;
    if (d >>> 0 > 9) break;
    n = n * 10 + d;
    i++;
  }
  numEnd = i;
  return i === a ? -1 : n;
}

function isBoundary(b: Uint8Array, i: number, end: number): boolean {
  if (i >= end) return true;
  const c = b[i]!;
  return c === SPACE || c === TAB;
}

/** End of the token starting at `a` (next space or tab, or `end`). */
function tokenEnd(b: Uint8Array, a: number, end: number): number {
  let i = a;
  while (i < end) {
    const c = b[i]!;
    if (c === SPACE || c === TAB) break;
    i++;
  }
  return i;
}

/** End of a value: the next space (conntrack separates tokens with single spaces), or `end`. */
function valueEnd(b: Uint8Array, a: number, end: number): number {
  let i = a;
  while (i < end && b[i] !== SPACE) i++;
  return i;
}

/** End of the address value starting at `a`, or -1 unless it is a strict IPv4/IPv6 literal. */
function addressEnd(b: Uint8Array, a: number, end: number): number {
  const e = valueEnd(b, a, end);
  return ipLiteralVersionBytes(b, a, e) === 0 ? -1 : e;
}

function badValue(line: string, b: Uint8Array, i: number, end: number): ParseError {
  const e = tokenEnd(b, i, end);
  const eq = line.indexOf('=', i);
  return fail(`bad ${line.slice(i, eq)} "${line.slice(eq + 1, e)}"`, line);
}

function badPort(line: string, b: Uint8Array, a: number, end: number): ParseError {
  return fail(`bad port "${line.slice(a, tokenEnd(b, a, end))}"`, line);
}

// Results of the last `parseHeader` call (module state, so no result object is allocated per line).
let hEvent: ConntrackEventType | undefined;
let hL3: string | undefined;
let hL3num: number | undefined;
let hProto = '';
let hProtonum = 0;
let hTimeout = -1;
let hState: string | undefined;
/** Index where the header stopped. */
let hEnd = 0;
/** The header stopped at a `src=`: then its bytes through that `src=` decide everything it parsed to. */
let hAtSrc = false;

/** Header memo: slot by the byte after the header start (the event letter), bytes through `src=`, results. */
const MEMO_SLOTS = 8;
const MEMO_MAX = 64;
const memoBytes = new Uint8Array(MEMO_SLOTS * MEMO_MAX);
const memoLen = new Int32Array(MEMO_SLOTS);
const memoEvent = new Array<ConntrackEventType | undefined>(MEMO_SLOTS).fill(undefined);
const memoL3 = new Array<string | undefined>(MEMO_SLOTS).fill(undefined);
const memoL3num = new Array<number | undefined>(MEMO_SLOTS).fill(undefined);
const memoProto = new Array<string>(MEMO_SLOTS).fill('');
const memoProtonum = new Float64Array(MEMO_SLOTS);
const memoTimeout = new Float64Array(MEMO_SLOTS);
const memoState = new Array<string | undefined>(MEMO_SLOTS).fill(undefined);

/** The memo slot for a header starting at `i`. */
function memoSlot(b: Uint8Array, i: number): number {
  return b[i + 1]! & (MEMO_SLOTS - 1);
}

/**
 * When the bytes at `i` start with the header memoised in `slot`, load what it parsed to into the `h*` results
 * (`hEnd` included) and return true; otherwise leave them alone.
 */
function memoRecall(b: Uint8Array, i: number, end: number, slot: number): boolean {
  const length = memoLen[slot]!;
  if (length === 0 || i + length > end) return false;
  const base = slot * MEMO_MAX;
  for (let j = 0; j < length; j++) if (b[i + j] !== memoBytes[base + j]) return false;
  hEvent = memoEvent[slot];
  hL3 = memoL3[slot];
  hL3num = memoL3num[slot];
  hProto = memoProto[slot]!;
  hProtonum = memoProtonum[slot]!;
  hTimeout = memoTimeout[slot]!;
  hState = memoState[slot];
  hEnd = i + length - 4;
  return true;
}

/** Memoise the header just parsed from `i` (the `h*` results), when it ended at a `src=` and fits a slot. */
function memoKeep(b: Uint8Array, i: number, slot: number): void {
  const length = hEnd + 4 - i;
  if (!hAtSrc || length > MEMO_MAX) return;
  const base = slot * MEMO_MAX;
  for (let j = 0; j < length; j++) memoBytes[base + j] = b[i + j]!;
  memoLen[slot] = length;
  memoEvent[slot] = hEvent;
  memoL3[slot] = hL3;
  memoL3num[slot] = hL3num;
  memoProto[slot] = hProto;
  memoProtonum[slot] = hProtonum;
  memoTimeout[slot] = hTimeout;
  memoState[slot] = hState;
}

/**
 * Event tag and header words from `i` (after any timestamp) up to the first tuple: sets the `h*` results and
 * returns undefined, or returns the error.
 */
function parseHeader(
  line: string,
  b: Uint8Array,
  i: number,
  end: number,
  strong: boolean,
): ParseError | undefined {
  let event: ConntrackEventType | undefined;
  // Event tag, right-aligned in 9 columns by conntrack.
  if (b[i]! === LBRACKET) {
    const c1 = b[i + 1]!;
    let next = -1;
    if (c1 === 78 && b[i + 2]! === 69 && b[i + 3]! === 87 && b[i + 4]! === RBRACKET) {
      event = 'NEW';
      next = i + 5;
    } else if (c1 === 85 && bytesAt(b, i, K_UPDATE)) {
      event = 'UPDATE';
      next = i + 8;
    } else if (c1 === 68 && bytesAt(b, i, K_DESTROY)) {
      event = 'DESTROY';
      next = i + 9;
    }
    if (next < 0 || !isBoundary(b, next, end)) {
      return fail(`unknown event tag "${line.slice(i, tokenEnd(b, i, end))}"`, line);
    }
    strong = true;
    i = next;
  }

  // Header words up to the first tuple's `src=` (or a `[FLAG]`, or the end).
  let nWords = 0;
  hAtSrc = false;
  for (;;) {
    let c = SPACE;
    while (i < end) {
      c = b[i]!;
      if (c !== SPACE && c !== TAB) break;
      i++;
    }
    if (i >= end || c === LBRACKET) break;
    if (c === 115 && b[i + 3]! === EQ && b[i + 1]! === 114 && b[i + 2]! === 99) {
      hAtSrc = true;
      break;
    }
    if (nWords === MAX_HEADER_WORDS) {
      return fail(`unexpected token "${line.slice(i, tokenEnd(b, i, end))}"`, line);
    }
    // Short words: a char loop beats indexOf, and numbers and names are classified in the same pass.
    let n = -1;
    let e = i;
    let lower = false;
    if (c >= 48 && c <= 57) {
      n = scanUint(b, i, end);
      e = numEnd;
    } else if (c >= 97 && c <= 122) {
      e = lowerWordEnd(b, i, end);
      lower = true;
    }
    if (!isBoundary(b, e, end)) {
      n = -1;
      lower = false;
      e = tokenEnd(b, e, end);
    }
    wordStart[nWords] = i;
    wordEnd[nWords] = e;
    wordNum[nWords] = n;
    wordLower[nWords] = lower ? 1 : 0;
    nWords++;
    i = e;
  }

  if (nWords === 0) return fail(strong ? 'missing protocol' : 'unrecognised line', line);
  let w = 0;
  let l3: string | undefined;
  let l3num: number | undefined;
  // `-o extended` puts `ipv4 2` before `udp 17`: the leading words go name, number, name, number.
  if (nWords >= 4 && wordNum[1]! >= 0 && wordNum[2]! < 0 && wordNum[3]! >= 0) {
    if (wordLower[0] !== 1) {
      return fail(
        strong ? `bad l3 protocol "${line.slice(wordStart[0]!, wordEnd[0]!)}"` : 'unrecognised line',
        line,
      );
    }
    l3 = word(line, b, wordStart[0]!, wordEnd[0]!);
    l3num = wordNum[1]!;
    w = 2;
  }
  if (wordLower[w] !== 1) {
    return fail(strong ? 'missing protocol' : 'unrecognised line', line);
  }
  if (w + 1 >= nWords) {
    return fail(
      strong || l3 !== undefined ? 'truncated: missing protocol number' : 'unrecognised line',
      line,
    );
  }
  const protonum = wordNum[w + 1]!;
  if (protonum < 0) return fail(strong ? 'missing protocol number' : 'unrecognised line', line);
  const proto = word(line, b, wordStart[w]!, wordEnd[w]!);
  w += 2;
  let timeout = -1;
  if (w < nWords && wordNum[w]! >= 0) {
    timeout = wordNum[w]!;
    w++;
  }
  let state: string | undefined;
  if (w < nWords) {
    if (!isStateWord(b, wordStart[w]!, wordEnd[w]!)) {
      return fail(`unexpected token "${line.slice(wordStart[w]!, wordEnd[w]!)}"`, line);
    }
    state = word(line, b, wordStart[w]!, wordEnd[w]!);
    w++;
  }
  if (w < nWords) return fail(`unexpected token "${line.slice(wordStart[w]!, wordEnd[w]!)}"`, line);

  hEvent = event;
  hL3 = l3;
  hL3num = l3num;
  hProto = proto;
  hProtonum = protonum;
  hTimeout = timeout;
  hState = state;
  hEnd = i;
  return undefined;
}

/** One flow line: `[ts]\t` `[EVENT]` `l3 l3num` `proto protonum` `timeout` `STATE`, tuples, flags, key=value. */
function parseFlow(line: string, b: Uint8Array, i: number, end: number): ParseResult {
  let timestamp: number | undefined;
  let strong = false; // a timestamp or event tag shows the line was meant to be a flow

  // `-o timestamp` prefix: `[1795689888.889204]\t`.
  if (b[i]! === LBRACKET) {
    const d = b[i + 1]!;
    if (d >= 48 && d <= 57) {
      const sec = scanUint(b, i + 1, end);
      let p = numEnd;
      let ts = sec;
      if (b[p]! === 46 && p < end) {
        const fracStart = p + 1;
        const frac = scanUint(b, fracStart, end);
        const digits = numEnd - fracStart;
        p = numEnd;
        // sec * 10^k + frac is exact below 2^53, so one correctly rounded division gives Number("sec.frac").
        if (frac >= 0 && digits <= 6 && sec < 9e9) ts = (sec * POW10[digits]! + frac) / POW10[digits]!;
        else if (frac >= 0) ts = Number(line.slice(i + 1, p));
      }
      while (p < end && b[p]! === SPACE) p++;
      if (p >= end) return fail('truncated: timestamp', line);
      if (b[p]! !== RBRACKET) {
        return fail(`bad timestamp "${line.slice(i, tokenEnd(b, i, end))}"`, line);
      }
      timestamp = ts;
      strong = true;
      i = p + 1;
      while (i < end) {
        const c = b[i]!;
        if (c !== SPACE && c !== TAB) break;
        i++;
      }
      if (i >= end) return fail('missing protocol', line);
    }
  }

  // Event tag and header words. They repeat from line to line, so the last header seen for each event kind
  // is kept with what it parsed to: when the same bytes (through the first `src=`) come again, reuse it.
  const slot = memoSlot(b, i);
  if (!memoRecall(b, i, end, slot)) {
    const err = parseHeader(line, b, i, end, strong);
    if (err !== undefined) return err;
    memoKeep(b, i, slot);
  }
  const event = hEvent;
  const l3 = hL3;
  const l3num = hL3num;
  const proto = hProto;
  const protonum = hProtonum;
  const timeout = hTimeout;
  const state = hState;
  i = hEnd;

  // Tuples are told apart by position: the first `src=` opens orig, the second opens reply.
  let phase = 0;
  let oSrc: string | undefined;
  let oDst: string | undefined;
  let rSrc: string | undefined;
  let rDst: string | undefined;
  let oSport = -1;
  let oDport = -1;
  let rSport = -1;
  let rDport = -1;
  let oType = -1;
  let oCode = -1;
  let oIcmpId = -1;
  let rType = -1;
  let rCode = -1;
  let rIcmpId = -1;
  let oZone = -1;
  let rZone = -1;
  let oPackets = -1;
  let oBytes = -1;
  let rPackets = -1;
  let rBytes = -1;
  let unreplied = false;
  let assured = false;
  let offload = false;
  let hwOffload = false;
  let zone = -1;
  let mark = -1;
  let secmark = -1;
  let use = -1;
  let id = -1;
  let deltaTime = -1;
  let secctx: string | undefined;
  let labels: string | undefined;
  let helper: string | undefined;
  let userspace = false;
  let portid = -1;
  let progname: string | undefined;
  let extra: Record<string, string> | undefined;
  let afterCode = false; // an `id=` right after `code=` is the ICMP echo id, not the conntrack id

  while (i < end) {
    const c = b[i]!;
    if (c === SPACE || c === TAB) {
      i++;
      continue;
    }
    const wasAfterCode = afterCode;
    afterCode = false;
    // Dispatch on the first character, then confirm the rest of `key=` (char compares beat startsWith here).
    switch (c) {
      case 115: {
        const c1 = b[i + 1]!;
        if (c1 === 114 && b[i + 2]! === 99 && b[i + 3]! === EQ) {
          // src=
          const a = i + 4;
          const e = addressEnd(b, a, end);
          if (e < 0) return fail(`bad address "${line.slice(a, tokenEnd(b, a, end))}"`, line);
          if (phase === 0) {
            phase = 1;
            oSrc = line.slice(a, e);
          } else if (phase === 1) {
            phase = 2;
            rSrc = line.slice(a, e);
          } else {
            return fail('unexpected third src=', line);
          }
          i = e + 1;
          continue;
        }
        if (c1 === 112 && b[i + 5]! === EQ && b[i + 2]! === 111 && b[i + 3]! === 114 && b[i + 4]! === 116) {
          // sport=
          const port = scanUint(b, i + 6, end);
          if (port < 0 || port > 65535 || !isBoundary(b, numEnd, end)) return badPort(line, b, i + 6, end);
          if (phase === 1) oSport = port;
          else if (phase === 2) rSport = port;
          else return fail('sport= before src=', line);
          i = numEnd + 1;
          continue;
        }
        if (c1 === 101 && bytesAt(b, i, K_SECMARK)) {
          secmark = scanUint(b, i + 8, end);
          if (secmark < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          i = numEnd + 1;
          continue;
        }
        if (c1 === 101 && bytesAt(b, i, K_SECCTX)) {
          const a = i + 7;
          i = valueEnd(b, a, end);
          secctx = line.slice(a, i);
          continue;
        }
        break;
      }
      case 100: {
        const c1 = b[i + 1]!;
        if (c1 === 115 && b[i + 2]! === 116 && b[i + 3]! === EQ) {
          // dst=
          const a = i + 4;
          const e = addressEnd(b, a, end);
          if (e < 0) return fail(`bad address "${line.slice(a, tokenEnd(b, a, end))}"`, line);
          if (phase === 1 && oDst === undefined) oDst = line.slice(a, e);
          else if (phase === 2 && rDst === undefined) rDst = line.slice(a, e);
          else return fail('unexpected dst=', line);
          i = e + 1;
          continue;
        }
        if (c1 === 112 && b[i + 5]! === EQ && b[i + 2]! === 111 && b[i + 3]! === 114 && b[i + 4]! === 116) {
          // dport=
          const port = scanUint(b, i + 6, end);
          if (port < 0 || port > 65535 || !isBoundary(b, numEnd, end)) return badPort(line, b, i + 6, end);
          if (phase === 1) oDport = port;
          else if (phase === 2) rDport = port;
          else return fail('dport= before src=', line);
          i = numEnd + 1;
          continue;
        }
        if (c1 === 101 && bytesAt(b, i, K_DELTA_TIME)) {
          deltaTime = scanUint(b, i + 11, end);
          if (deltaTime < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          i = numEnd + 1;
          continue;
        }
        break;
      }
      case LBRACKET: {
        const c1 = b[i + 1]!;
        let next = -1;
        // The two per-line flags are matched by length, first letters and last letter: startsWith costs
        // more than the rest of a tuple on a sliced string.
        if (c1 === 85 && b[i + 10]! === RBRACKET) {
          const c2 = b[i + 2]!;
          if (c2 === 78 && b[i + 3]! === 82 && b[i + 9]! === 68) {
            unreplied = true; // [UNREPLIED]
            next = i + 11;
          } else if (c2 === 83 && bytesAt(b, i, K_USERSPACE)) {
            userspace = true;
            next = i + 11;
          }
        } else if (c1 === 65 && b[i + 8]! === RBRACKET && b[i + 2]! === 83 && b[i + 7]! === 68) {
          assured = true; // [ASSURED]
          next = i + 9;
        } else if (c1 === 79 && bytesAt(b, i, K_OFFLOAD)) {
          offload = true;
          next = i + 9;
        } else if (c1 === 72 && bytesAt(b, i, K_HW_OFFLOAD)) {
          hwOffload = true;
          next = i + 12;
        }
        if (next > 0 && isBoundary(b, next, end)) {
          i = next;
          continue;
        }
        // `-o ktimestamp` prints `[start=Thu Nov 26 10:44:48 2026]`; keep it and unknown flags verbatim.
        const close = line.indexOf(']', i + 1);
        if (close < 0 || close >= end) return fail(`truncated: unterminated "${line.slice(i, end)}"`, line);
        if (!isBoundary(b, close + 1, end)) {
          return fail(`unexpected token "${line.slice(i, tokenEnd(b, close, end))}"`, line);
        }
        const inner = line.slice(i + 1, close);
        const eq = inner.indexOf('=');
        const key = eq < 0 ? inner : inner.slice(0, eq);
        extra = addExtra(extra, key, eq < 0 ? '' : inner.slice(eq + 1), phase === 2);
        i = close + 1;
        continue;
      }
      case 105:
        if (b[i + 1]! === 100 && b[i + 2]! === EQ) {
          // id=
          const n = scanUint(b, i + 3, end);
          if (n < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          if (wasAfterCode && phase === 1) oIcmpId = n;
          else if (wasAfterCode && phase === 2) rIcmpId = n;
          else id = n;
          i = numEnd + 1;
          continue;
        }
        break;
      case 109:
        if (bytesAt(b, i, K_MARK)) {
          mark = scanUint(b, i + 5, end);
          if (mark < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          i = numEnd + 1;
          continue;
        }
        break;
      case 117:
        if (bytesAt(b, i, K_USE)) {
          use = scanUint(b, i + 4, end);
          if (use < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          i = numEnd + 1;
          continue;
        }
        break;
      case 116:
      case 99:
        if (bytesAt(b, i, c === 116 ? K_TYPE : K_CODE)) {
          const n = scanUint(b, i + 5, end);
          if (n < 0 || n > 255 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          const isType = c === 116;
          if (phase === 1) {
            if (isType) oType = n;
            else oCode = n;
          } else if (phase === 2) {
            if (isType) rType = n;
            else rCode = n;
          } else {
            return fail(`${isType ? 'type' : 'code'}= before src=`, line);
          }
          afterCode = !isType;
          i = numEnd + 1;
          continue;
        }
        break;
      case 122:
        if (bytesAt(b, i, K_ZONE)) {
          zone = scanUint(b, i + 5, end);
          if (zone < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          i = numEnd + 1;
          continue;
        }
        if (bytesAt(b, i, K_ZONE_ORIG)) {
          oZone = scanUint(b, i + 10, end);
          if (oZone < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          i = numEnd + 1;
          continue;
        }
        if (bytesAt(b, i, K_ZONE_REPLY)) {
          rZone = scanUint(b, i + 11, end);
          if (rZone < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          i = numEnd + 1;
          continue;
        }
        break;
      case 112:
        if (bytesAt(b, i, K_PACKETS)) {
          const n = scanUint(b, i + 8, end);
          if (n < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          if (phase === 1) oPackets = n;
          else if (phase === 2) rPackets = n;
          else return fail('packets= before src=', line);
          i = numEnd + 1;
          continue;
        }
        if (userspace && bytesAt(b, i, K_PORTID)) {
          portid = scanUint(b, i + 7, end);
          if (portid < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          i = numEnd + 1;
          continue;
        }
        if (userspace && bytesAt(b, i, K_PROGNAME)) {
          // The comm from /proc/PID/stat, which may contain spaces; conntrack always prints it last.
          progname = line.slice(i + 9, end);
          i = end;
          continue;
        }
        break;
      case 98:
        if (bytesAt(b, i, K_BYTES)) {
          const n = scanUint(b, i + 6, end);
          if (n < 0 || !isBoundary(b, numEnd, end)) return badValue(line, b, i, end);
          if (phase === 1) oBytes = n;
          else if (phase === 2) rBytes = n;
          else return fail('bytes= before src=', line);
          i = numEnd + 1;
          continue;
        }
        break;
      case 108:
        if (bytesAt(b, i, K_LABELS)) {
          const a = i + 7;
          i = valueEnd(b, a, end);
          labels = line.slice(a, i);
          continue;
        }
        break;
      case 104:
        if (bytesAt(b, i, K_HELPER)) {
          const a = i + 7;
          i = valueEnd(b, a, end);
          helper = line.slice(a, i);
          continue;
        }
        break;
    }
    // Anything else must still be `key=value`: unknown keys are kept, not fatal.
    const s = i;
    i = tokenEnd(b, s, end);
    const eq = line.indexOf('=', s);
    if (eq <= s || eq >= i) return fail(`unexpected token "${line.slice(s, i)}"`, line);
    extra = addExtra(extra, line.slice(s, eq), line.slice(eq + 1, i), phase === 2);
  }

  if (oSrc === undefined) return fail('truncated: orig tuple missing', line);
  if (oDst === undefined) return fail('truncated: orig tuple incomplete', line);
  if (rSrc === undefined) return fail('truncated: reply tuple missing', line);
  if (rDst === undefined) return fail('truncated: reply tuple incomplete', line);
  if (isPortProto(protonum)) {
    if (oSport < 0 || oDport < 0) return fail('truncated: orig tuple incomplete', line);
    if (rSport < 0 || rDport < 0) return fail('truncated: reply tuple incomplete', line);
  } else if (protonum === 1 || protonum === 58) {
    if (oType < 0 || oCode < 0) return fail('truncated: orig tuple incomplete', line);
    if (rType < 0 || rCode < 0 || (oIcmpId >= 0 && rIcmpId < 0)) {
      return fail('truncated: reply tuple incomplete', line);
    }
  }

  const record: FlowRecord = {
    kind: 'flow',
    event,
    timestamp,
    l3,
    l3num,
    proto,
    protonum,
    timeout: undef(timeout),
    state,
    orig: tuple(oSrc, oDst, oSport, oDport, oType, oCode, oIcmpId, oZone, oPackets, oBytes),
    reply: tuple(rSrc, rDst, rSport, rDport, rType, rCode, rIcmpId, rZone, rPackets, rBytes),
    unreplied,
    assured,
    offload: offload || undefined,
    hwOffload: hwOffload || undefined,
    zone: undef(zone),
    mark: undef(mark),
    secmark: undef(secmark),
    secctx,
    use: undef(use),
    id: undef(id),
    deltaTime: undef(deltaTime),
    labels,
    helper,
    userspace: userspace ? { portid: undef(portid), progname } : undefined,
    extra,
  };
  return record;
}
