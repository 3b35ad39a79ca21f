import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ParseResult, Tuple } from '../src/conntrack/conntrack-types.js';
import { LineSplitter } from '../src/conntrack/line-splitter.js';
import { parseConntrackLine } from '../src/conntrack/parse-conntrack-line.js';
import { parseConntrackXmlLine } from '../src/conntrack/parse-conntrack-xml.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);

function fixtureLines(name: string): string[] {
  return readFileSync(new URL(name, FIXTURES), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
}

const TEXT_LINES = [
  ...fixtureLines('seed-incident/events-default.txt'),
  ...fixtureLines('seed-incident/events-ts-ext-id.txt'),
  ...fixtureLines('seed-incident/list-poll.txt'),
  ...fixtureLines('flood-sample.txt').slice(0, 20),
  'ipv6     10 icmpv6   58 29 src=fd00::1 dst=fd00::2 type=128 code=0 id=77 src=fd00::2 dst=fd00::1 type=129 code=0 id=77 mark=0 use=1 id=555',
  'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=443 packets=12 bytes=1500 zone-orig=1 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=40000 packets=9 bytes=64000 zone-reply=2 [ASSURED] mark=7 secmark=3 secctx=x zone=0 delta-time=35 [start=Thu Nov 26 10:44:48 2026] helper=ftp use=2 id=9 labels=a,b',
  'cpu=0   \tfound=0 invalid=12 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=3 chaintoolong=0 ',
  'WARNING: We have hit ENOBUFS! We are losing events.',
];
const XML_LINES = fixtureLines('seed-incident/events-xml.txt');

const KINDS = new Set(['flow', 'event-loss', 'summary', 'cpu-stats', 'count', 'blank', 'error']);

function isPortOrUndefined(n: unknown): boolean {
  return n === undefined || (Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 65535);
}

function tupleIsSane(t: Tuple): boolean {
  return (
    typeof t.src === 'string' &&
    t.src.length > 0 &&
    typeof t.dst === 'string' &&
    t.dst.length > 0 &&
    isPortOrUndefined(t.sport) &&
    isPortOrUndefined(t.dport)
  );
}

/** What any parser result must look like, whatever the input. */
function resultIsSane(r: ParseResult): boolean {
  if (typeof r !== 'object' || r === null || typeof r.kind !== 'string' || !KINDS.has(r.kind)) return false;
  if (r.kind === 'error')
    return typeof r.reason === 'string' && r.reason.length > 0 && typeof r.raw === 'string';
  if (r.kind === 'flow') {
    return tupleIsSane(r.orig) && tupleIsSane(r.reply) && Number.isInteger(r.protonum) && r.protonum >= 0;
  }
  return true;
}

function safely(parse: (line: string) => ParseResult, line: string): ParseResult {
  try {
    return parse(line);
  } catch (err) {
    throw new Error(`parser threw on ${JSON.stringify(line)}: ${String(err)}`);
  }
}

type Mutation =
  | { op: 'truncate'; at: number }
  | { op: 'delete-token'; at: number }
  | { op: 'duplicate-token'; at: number }
  | { op: 'swap-tokens'; at: number; with: number }
  | { op: 'substitute'; at: number; ch: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('delete-token' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate-token' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap-tokens' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({
    op: fc.constant('substitute' as const),
    at: fc.nat(),
    ch: fc.oneof(
      fc.constantFrom(' ', '=', '[', ']', '<', '>', '/', '\t', '\r', '0', 'x', ':', '.'),
      fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
    ),
  }),
);

function mutate(line: string, m: Mutation): string {
  const tokens = line.split(' ');
  const t = (i: number) => i % tokens.length;
  switch (m.op) {
    case 'truncate':
      return line.slice(0, m.at % (line.length + 1));
    case 'delete-token':
      tokens.splice(t(m.at), 1);
      return tokens.join(' ');
    case 'duplicate-token':
      tokens.splice(t(m.at), 0, tokens[t(m.at)]!);
      return tokens.join(' ');
    case 'swap-tokens': {
      const a = t(m.at);
      const b = t(m.with);
      [tokens[a], tokens[b]] = [tokens[b]!, tokens[a]!];
      return tokens.join(' ');
    }
    case 'substitute': {
      const at = m.at % Math.max(line.length, 1);
      return line.slice(0, at) + m.ch + line.slice(at + 1);
    }
  }
}

const mutatedLine = (sources: string[]) =>
  fc
    .tuple(fc.constantFrom(...sources), fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
    .map(([line, ms]) => ms.reduce(mutate, line));

/** Strings built from conntrack vocabulary, so the scanner gets deep into its branches. */
const tokenSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '[NEW]',
        '[UPDATE]',
        '[DESTROY]',
        '[UNREPLIED]',
        '[ASSURED]',
        '[OFFLOAD]',
        '[HW_OFFLOAD]',
        '[USERSPACE]',
        '[1795689888.889204]\t',
        'ipv4',
        '2',
        'ipv6',
        '10',
        'udp',
        '17',
        'tcp',
        '6',
        'icmp',
        '1',
        '30',
        'ESTABLISHED',
        'src=10.0.0.1',
        'dst=10.0.0.2',
        'src=fd00::1',
        'sport=53',
        'dport=99999',
        'sport=',
        'type=8',
        'code=0',
        'id=7',
        'id=',
        'mark=0',
        'use=1',
        'zone=1',
        'zone-orig=1',
        'zone-reply=x',
        'packets=1',
        'bytes=2',
        'portid=5',
        'progname=a b',
        'labels=a,b',
        'helper=ftp',
        'secctx=x',
        'delta-time=3',
        'foo=bar',
        '=',
        '[start=x y]',
        '[',
        ']',
        'cpu=0',
        'conntrack v1.4.7 (conntrack-tools):',
        '3 flow entries have been shown.',
        '--',
        '\r',
        '',
      ),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 30 },
  )
  .map((tokens) => tokens.join(' '));

describe('parseConntrackLine never throws', () => {
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.string({ unit: 'grapheme-ascii', maxLength: 400 }),
        ),
        (s) => resultIsSane(safely(parseConntrackLine, s)),
      ),
      { numRuns: 2000 },
    );
  });

  it('on conntrack-vocabulary token soup', () => {
    fc.assert(
      fc.property(tokenSoup, (s) => resultIsSane(safely(parseConntrackLine, s))),
      { numRuns: 3000 },
    );
  });

  it('on mutated real lines (truncation, token deletion/duplication/swap, substitution)', () => {
    fc.assert(
      fc.property(mutatedLine(TEXT_LINES), (s) => resultIsSane(safely(parseConntrackLine, s))),
      { numRuns: 3000 },
    );
  });

  it('on real lines, which stay sane and never come out as errors', () => {
    for (const line of TEXT_LINES) {
      const r = parseConntrackLine(line);
      expect(resultIsSane(r), line).toBe(true);
      expect(r.kind, line).not.toBe('error');
    }
  });
});

describe('parseConntrackXmlLine never throws', () => {
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.constant('<').chain((p) => fc.string().map((s) => p + s)),
        ),
        (s) => resultIsSane(safely(parseConntrackXmlLine, s)),
      ),
      { numRuns: 2000 },
    );
  });

  it('on mutated real lines (truncation, token deletion/duplication/swap, substitution)', () => {
    fc.assert(
      fc.property(mutatedLine(XML_LINES), (s) => resultIsSane(safely(parseConntrackXmlLine, s))),
      { numRuns: 1500 },
    );
  });

  it('on XML fragments spliced from real lines', () => {
    const pieces = XML_LINES.flatMap((l) => l.split(/(?=<)/));
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), (parts) =>
        resultIsSane(safely(parseConntrackXmlLine, parts.join(''))),
      ),
      { numRuns: 1500 },
    );
  });
});

/** Lines that contain no line ending of their own. */
const plainLine = fc.string({
  unit: fc.constantFrom('a', 'b', ' ', '=', '[', ']', '\t', 'é', '0'),
  maxLength: 30,
});

/** Cuts `text` at the given (arbitrary) positions. */
function chunk(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(text.slice(prev, p));
    prev = p;
  }
  out.push(text.slice(prev));
  return out;
}

describe('LineSplitter under arbitrary chunkings', () => {
  it('gives back exactly the lines that were written, LF or CRLF', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(plainLine, fc.boolean()), { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (lines, cuts) => {
          const text = lines.map(([l, crlf]) => l + (crlf ? '\r\n' : '\n')).join('');
          const splitter = new LineSplitter();
          const got = chunk(text, cuts).flatMap((c) => splitter.push(c));
          got.push(...splitter.flush());
          expect(got).toEqual(lines.map(([l]) => l));
          expect(splitter.overlongLines).toBe(0);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('returns an unterminated last line from flush()', () => {
    fc.assert(
      fc.property(
        fc.array(plainLine, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (lines, cuts) => {
          const text = lines.join('\n');
          const splitter = new LineSplitter();
          const got = chunk(text, cuts).flatMap((c) => splitter.push(c));
          got.push(...splitter.flush());
          const last = lines[lines.length - 1]!;
          expect(got).toEqual(last === '' ? lines.slice(0, -1) : lines);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('drops and counts exactly the lines longer than maxLineLength', () => {
    fc.assert(
      fc.property(
        fc.array(plainLine, { maxLength: 30 }),
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (lines, max, cuts) => {
          const text = lines.map((l) => `${l}\r\n`).join('');
          const splitter = new LineSplitter({ maxLineLength: max });
          const got = chunk(text, cuts).flatMap((c) => splitter.push(c));
          got.push(...splitter.flush());
          expect(got).toEqual(lines.filter((l) => l.length <= max));
          expect(splitter.overlongLines).toBe(lines.filter((l) => l.length > max).length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
