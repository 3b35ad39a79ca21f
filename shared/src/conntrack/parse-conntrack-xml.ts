/** Parser for one line of `conntrack -E -o xml` / `-L -o xml` output into the same records as the text parser. */

import { XMLParser } from 'fast-xml-parser';
import type { ConntrackEventType, FlowRecord, ParseError, ParseResult, Tuple } from './conntrack-types.js';
import { ipLiteralVersion } from './ip-literal.js';
import { parseConntrackLine } from './parse-conntrack-line.js';

const MAX_RAW = 1024;

// Values stay strings (parseTagValue off) so numbers are checked here, digit by digit, like the text parser.
const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'meta' || name === 'label',
});

type Node = Record<string, unknown>;

function fail(reason: string, line: string): ParseError {
  return { kind: 'error', reason, raw: line.length > MAX_RAW ? line.slice(0, MAX_RAW) : line };
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(n: Node | undefined, key: string): Node | undefined {
  const v = n?.[key];
  return isNode(v) ? v : undefined;
}

function text(n: Node | undefined, key: string): string | undefined {
  const v = n?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** Decimal digits as a number; -1 when missing, -2 when present but not a number. */
function uint(v: string | undefined): number {
  if (v === undefined) return -1;
  if (v.length === 0) return -2;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d >>> 0 > 9) return -2;
    n = n * 10 + d;
  }
  return n;
}

/** What inet_ntoa/inet_ntop print: hex digits, `.` and `:`. */
function isAddress(v: string): boolean {
  return ipLiteralVersion(v) !== 0;
}

function opt(n: number): number | undefined {
  return n < 0 ? undefined : n;
}

/** First malformed numeric element seen while reading the current line (reset per line). */
let badField: string | undefined;

/** A numeric child element: undefined when absent; a malformed one is recorded in `badField`. */
function num(n: Node | undefined, key: string): number | undefined {
  const v = n?.[key];
  if (v === undefined) return undefined;
  const x = typeof v === 'string' ? uint(v) : -2;
  if (x < 0) {
    badField ??= `bad <${key}> "${typeof v === 'string' ? v : '...'}"`;
    return undefined;
  }
  return x;
}

/** Children of `<meta direction="independent">` mapped to FlowRecord fields; any other goes to `extra`. */
const KNOWN_INDEPENDENT = new Set([
  '@_direction',
  'state',
  'timeout',
  'mark',
  'secmark',
  'use',
  'id',
  'zone',
  'assured',
  'unreplied',
  'offload',
  'hw_offload',
  'deltatime',
  'secctx',
  'helper',
  'labels',
]);

function eventOf(type: string): ConntrackEventType | undefined {
  if (type === 'new') return 'NEW';
  if (type === 'update') return 'UPDATE';
  if (type === 'destroy') return 'DESTROY';
  return undefined;
}

function isPortProto(protonum: number): boolean {
  return protonum === 6 || protonum === 17 || protonum === 33 || protonum === 132 || protonum === 136;
}

/** One `<meta direction="original|reply">` as a Tuple, or a reason it is unusable. */
function readTuple(meta: Node | undefined, name: string, protonum: number): Tuple | string {
  if (!meta) return `truncated: ${name} tuple missing`;
  const l3 = child(meta, 'layer3');
  const l4 = child(meta, 'layer4');
  const src = text(l3, 'src');
  const dst = text(l3, 'dst');
  if (!src || !dst) return `truncated: ${name} tuple incomplete`;
  if (!isAddress(src)) return `bad address "${src}"`;
  if (!isAddress(dst)) return `bad address "${dst}"`;
  const sport = num(l4, 'sport');
  const dport = num(l4, 'dport');
  if (isPortProto(protonum) && (sport === undefined || dport === undefined)) {
    return badField ?? `truncated: ${name} tuple incomplete`;
  }
  if ((sport ?? 0) > 65535 || (dport ?? 0) > 65535) return `bad port in ${name} tuple`;
  const counters = child(meta, 'counters');
  return {
    src,
    dst,
    sport,
    dport,
    icmpType: num(l4, 'type'),
    icmpCode: num(l4, 'code'),
    icmpId: num(l4, 'id'),
    zone: num(meta, 'zone'),
    packets: num(counters, 'packets'),
    bytes: num(counters, 'bytes'),
  };
}

/** `<when>` as epoch seconds: conntrack prints the local time of printing, read here as UTC (as the brief says). */
function readWhen(when: Node): number | undefined {
  const year = uint(text(when, 'year'));
  const month = uint(text(when, 'month'));
  const day = uint(text(when, 'day'));
  const hour = uint(text(when, 'hour'));
  const min = uint(text(when, 'min'));
  const sec = uint(text(when, 'sec'));
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    hour < 0 ||
    hour > 23 ||
    min < 0 ||
    min > 59
  ) {
    return undefined;
  }
  if (sec < 0 || sec > 60) return undefined;
  return Date.UTC(year, month - 1, day, hour, min, sec) / 1000;
}

/** Parses one line of conntrack XML output into a record, or an error record; never throws. */
export function parseConntrackXmlLine(line: string): ParseResult {
  if (typeof line !== 'string') return { kind: 'error', reason: 'not a string', raw: String(line) };
  try {
    return parseXmlLine(line);
  } catch (err) {
    // fast-xml-parser throws on some malformed input; that is still just a bad line.
    return fail(`bad xml: ${err instanceof Error ? err.message : String(err)}`, line);
  }
}

function parseXmlLine(line: string): ParseResult {
  badField = undefined;
  const s = line.trim();
  // Non-XML lines in the same stream (stderr summary, ENOBUFS warning, blanks) read as text output.
  if (!s.startsWith('<')) return parseConntrackLine(line);
  if (s.startsWith('<?xml') || s === '<conntrack>' || s === '</conntrack>') return { kind: 'blank' };
  if (!s.startsWith('<flow')) return fail('unrecognised line', line);

  const close = s.lastIndexOf('</flow>');
  if (close < 0) return fail('truncated: missing </flow>', line);
  const tail = s.slice(close + '</flow>'.length).trim();
  let userspace: FlowRecord['userspace'];
  if (tail.length > 0) {
    // conntrack 1.4.7 appends ` [USERSPACE] portid=N progname=X` after `</flow>` too.
    const m = /^\[USERSPACE\](?:\s+portid=(\d+))?(?:\s+progname=(.*))?$/.exec(tail);
    if (!m) return fail(`unexpected text after </flow>: "${tail.slice(0, 80)}"`, line);
    userspace = { portid: m[1] === undefined ? undefined : Number(m[1]), progname: m[2] };
  }

  const doc = xml.parse(s.slice(0, close + '</flow>'.length)) as unknown;
  const flow = isNode(doc) ? child(doc, 'flow') : undefined;
  if (!flow) return fail('bad xml: no <flow> element', line);

  const type = text(flow, '@_type');
  let event: ConntrackEventType | undefined;
  if (type !== undefined) {
    event = eventOf(type);
    if (event === undefined) return fail(`unknown flow type "${type}"`, line);
  }

  const metas = Array.isArray(flow.meta) ? flow.meta.filter(isNode) : [];
  const metaFor = (dir: string) => metas.find((m) => m['@_direction'] === dir);
  const origMeta = metaFor('original');
  const replyMeta = metaFor('reply');
  const indep = metaFor('independent');

  const l3 = child(origMeta, 'layer3');
  const l4 = child(origMeta, 'layer4');
  const proto = text(l4, '@_protoname');
  const protonum = uint(text(l4, '@_protonum'));
  if (!origMeta) return fail('truncated: orig tuple missing', line);
  if (!proto || protonum < 0) return fail('missing protocol', line);

  const orig = readTuple(origMeta, 'orig', protonum);
  if (typeof orig === 'string') return fail(orig, line);
  const reply = readTuple(replyMeta, 'reply', protonum);
  if (typeof reply === 'string') return fail(reply, line);

  const when = child(flow, 'when');
  let timestamp: number | undefined;
  if (when) {
    timestamp = readWhen(when);
    if (timestamp === undefined) return fail('bad <when>', line);
  }

  let extra: Record<string, string> | undefined;
  if (indep) {
    for (const [k, v] of Object.entries(indep)) {
      if (!KNOWN_INDEPENDENT.has(k) && typeof v === 'string') {
        extra ??= Object.create(null) as Record<string, string>;
        extra[k] = v;
      }
    }
  }
  const labelList = child(indep, 'labels')?.label;
  const labels = Array.isArray(labelList)
    ? labelList.filter((x) => typeof x === 'string').join(',')
    : undefined;
  const l3num = uint(text(l3, '@_protonum'));

  // Same property order as the text parser, so both produce one object shape.
  const record: FlowRecord = {
    kind: 'flow',
    event,
    timestamp,
    l3: text(l3, '@_protoname'),
    l3num: opt(l3num),
    proto,
    protonum,
    timeout: num(indep, 'timeout'),
    state: text(indep, 'state'),
    orig,
    reply,
    unreplied: indep !== undefined && 'unreplied' in indep,
    assured: indep !== undefined && 'assured' in indep,
    offload: indep !== undefined && 'offload' in indep ? true : undefined,
    hwOffload: indep !== undefined && 'hw_offload' in indep ? true : undefined,
    zone: num(indep, 'zone'),
    mark: num(indep, 'mark'),
    secmark: num(indep, 'secmark'),
    secctx: text(indep, 'secctx'),
    use: num(indep, 'use'),
    id: num(indep, 'id'),
    deltaTime: num(indep, 'deltatime'),
    labels: labels || undefined,
    helper: text(indep, 'helper'),
    userspace,
    extra,
  };
  if (badField !== undefined) return fail(badField, line);
  return record;
}
