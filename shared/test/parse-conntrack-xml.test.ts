import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FlowRecord, ParseResult } from '../src/conntrack/conntrack-types.js';
import { parseConntrackLine } from '../src/conntrack/parse-conntrack-line.js';
import { parseConntrackXmlLine } from '../src/conntrack/parse-conntrack-xml.js';

const FIXTURES = new URL('./fixtures/seed-incident/', import.meta.url);

function fixtureLines(name: string): string[] {
  return readFileSync(new URL(name, FIXTURES), 'utf8').split('\n');
}

/** Line `n` (1-based, as `sed -n Np`) of a fixture, verbatim. */
function fixtureLine(name: string, n: number): string {
  const line = fixtureLines(name)[n - 1];
  if (line === undefined) throw new Error(`${name} has no line ${n}`);
  return line;
}

function flows(results: ParseResult[]): FlowRecord[] {
  return results.filter((r): r is FlowRecord => r.kind === 'flow');
}

const XML = 'events-xml.txt';
const FIRST_FLOW = fixtureLine(XML, 3);

/** A hand-written `-L -o xml` dump flow (no type attribute) with the optional elements. */
const DUMP_FLOW =
  '<flow><meta direction="original"><layer3 protonum="10" protoname="ipv6"><src>2001:db8::1</src><dst>2001:db8::2</dst></layer3>' +
  '<layer4 protonum="6" protoname="tcp"><sport>40000</sport><dport>443</dport></layer4><zone>1</zone>' +
  '<counters><packets>12</packets><bytes>1500</bytes></counters></meta>' +
  '<meta direction="reply"><layer3 protonum="10" protoname="ipv6"><src>2001:db8::2</src><dst>2001:db8::1</dst></layer3>' +
  '<layer4 protonum="6" protoname="tcp"><sport>443</sport><dport>40000</dport></layer4>' +
  '<counters><packets>9</packets><bytes>64000</bytes></counters></meta>' +
  '<meta direction="independent"><state>ESTABLISHED</state><timeout>431999</timeout><mark>7</mark><secmark>0</secmark>' +
  '<use>2</use><id>99</id><zone>3</zone><assured/><frob>x</frob></meta></flow>';

const ICMP_FLOW =
  '<flow type="new"><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.0.0.2</dst></layer3>' +
  '<layer4 protonum="1" protoname="icmp"><type>8</type><code>0</code><id>1234</id></layer4></meta>' +
  '<meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.2</src><dst>10.0.0.1</dst></layer3>' +
  '<layer4 protonum="1" protoname="icmp"><type>0</type><code>0</code><id>1234</id></layer4></meta>' +
  '<meta direction="independent"><timeout>30</timeout><unreplied/></meta></flow>';

interface Case {
  name: string;
  line: string;
  expect: Record<string, unknown>;
}

const cases: Case[] = [
  { name: 'xml declaration', line: fixtureLine(XML, 1), expect: { kind: 'blank' } },
  { name: '<conntrack> opener', line: fixtureLine(XML, 2), expect: { kind: 'blank' } },
  { name: '</conntrack> closer', line: fixtureLine(XML, 51), expect: { kind: 'blank' } },
  {
    name: 'stderr summary in the same capture',
    line: fixtureLine(XML, 52),
    expect: { kind: 'summary', count: 48 },
  },
  { name: 'blank line', line: '', expect: { kind: 'blank' } },
  {
    name: 'first NEW flow, every mapped field',
    line: FIRST_FLOW,
    expect: {
      kind: 'flow',
      event: 'NEW',
      // <when> 2026-11-26 10:44:48, read as UTC
      timestamp: Date.UTC(2026, 10, 26, 10, 44, 48) / 1000,
      l3: 'ipv4',
      l3num: 2,
      proto: 'udp',
      protonum: 17,
      timeout: 30,
      state: undefined,
      orig: { src: '10.42.0.33', dst: '10.43.0.10', sport: 60357, dport: 53 },
      reply: { src: '172.20.112.199', dst: '10.42.0.33', sport: 53, dport: 60357 },
      unreplied: true,
      assured: false,
      id: 2643185377,
      userspace: undefined,
      extra: undefined,
    },
  },
  {
    name: 'DESTROY with [USERSPACE] appended after </flow>',
    line: fixtureLine(XML, 16),
    expect: {
      kind: 'flow',
      event: 'DESTROY',
      timeout: 28,
      id: 2026399849,
      userspace: { portid: 2476699638 },
    },
  },
  {
    name: 'dump flow: no type, state, counters, zones, unknown element to extra',
    line: DUMP_FLOW,
    expect: {
      kind: 'flow',
      event: undefined,
      timestamp: undefined,
      l3: 'ipv6',
      l3num: 10,
      proto: 'tcp',
      protonum: 6,
      state: 'ESTABLISHED',
      timeout: 431999,
      orig: { src: '2001:db8::1', sport: 40000, zone: 1, packets: 12, bytes: 1500 },
      reply: { src: '2001:db8::2', dport: 40000, packets: 9, bytes: 64000 },
      assured: true,
      unreplied: false,
      mark: 7,
      secmark: 0,
      use: 2,
      id: 99,
      zone: 3,
      extra: { frob: 'x' },
    },
  },
  {
    name: 'icmp type/code/id inside layer4',
    line: ICMP_FLOW,
    expect: {
      kind: 'flow',
      proto: 'icmp',
      orig: { icmpType: 8, icmpCode: 0, icmpId: 1234, sport: undefined },
      reply: { icmpType: 0, icmpId: 1234 },
      unreplied: true,
    },
  },
  {
    name: 'CRLF line ending',
    line: `${FIRST_FLOW}\r`,
    expect: { kind: 'flow', event: 'NEW', orig: { sport: 60357 } },
  },
  {
    name: 'cut in the middle',
    line: FIRST_FLOW.slice(0, 200),
    expect: { kind: 'error', reason: 'truncated: missing </flow>' },
  },
  {
    name: 'reply meta removed',
    line: FIRST_FLOW.replace(/<meta direction="reply">.*?<\/meta>/, ''),
    expect: { kind: 'error', reason: 'truncated: reply tuple missing' },
  },
  {
    name: 'reply dport removed',
    line: FIRST_FLOW.replace('<dport>60357</dport>', ''),
    expect: { kind: 'error', reason: 'truncated: reply tuple incomplete' },
  },
  {
    name: 'bad port',
    line: FIRST_FLOW.replace('<sport>60357</sport>', '<sport>x</sport>'),
    expect: { kind: 'error', reason: 'bad <sport> "x"' },
  },
  {
    name: 'bad address',
    line: FIRST_FLOW.replace('<src>172.20.112.199</src>', '<src>gateway</src>'),
    expect: { kind: 'error', reason: 'bad address "gateway"' },
  },
  {
    name: 'bad timeout',
    line: FIRST_FLOW.replace('<timeout>30</timeout>', '<timeout>-1</timeout>'),
    expect: { kind: 'error', reason: 'bad <timeout> "-1"' },
  },
  {
    name: 'unknown flow type',
    line: FIRST_FLOW.replace('type="new"', 'type="renew"'),
    expect: { kind: 'error', reason: 'unknown flow type "renew"' },
  },
  {
    name: 'flow type that is an Object.prototype key',
    line: FIRST_FLOW.replace('type="new"', 'type="constructor"'),
    expect: { kind: 'error', reason: 'unknown flow type "constructor"' },
  },
  {
    name: 'bad <when>',
    line: FIRST_FLOW.replace('<month>11</month>', '<month>13</month>'),
    expect: { kind: 'error', reason: 'bad <when>' },
  },
  {
    name: 'junk after </flow>',
    line: `${FIRST_FLOW} trailing`,
    expect: { kind: 'error', reason: 'unexpected text after </flow>: "trailing"' },
  },
  {
    name: 'other element',
    line: '<expect></expect>',
    expect: { kind: 'error', reason: 'unrecognised line' },
  },
  {
    name: 'mismatched tags',
    line: '<flow type="new"><meta direction="original"></layer3></flow>',
    expect: { kind: 'error' },
  },
];

describe('parseConntrackXmlLine', () => {
  it.each(cases)('$name', ({ line, expect: want }) => {
    expect(parseConntrackXmlLine(line)).toMatchObject(want);
  });

  it('builds flows with the same keys, in the same order, as the text parser', () => {
    const fromXml = parseConntrackXmlLine(FIRST_FLOW);
    const fromText = parseConntrackLine(fixtureLine('events-ts-ext-id.txt', 1));
    if (fromXml.kind !== 'flow' || fromText.kind !== 'flow') throw new Error('expected flows');
    expect(Object.keys(fromXml)).toEqual(Object.keys(fromText));
    expect(Object.keys(fromXml.orig)).toEqual(Object.keys(fromText.orig));
  });
});

describe('events-xml.txt against the text captures of the same events', () => {
  const xmlResults = fixtureLines(XML).map((l) => parseConntrackXmlLine(l));
  const xmlFlows = flows(xmlResults);
  const defaultFlows = flows(fixtureLines('events-default.txt').map((l) => parseConntrackLine(l)));
  const idFlows = flows(fixtureLines('events-ts-ext-id.txt').map((l) => parseConntrackLine(l)));

  it('parses every line without error into 48 flows', () => {
    expect(xmlResults.filter((r) => r.kind === 'error')).toEqual([]);
    expect(xmlFlows).toHaveLength(48);
    expect(defaultFlows).toHaveLength(48);
  });

  it.each(xmlFlows.map((flow, i) => ({ i, flow })))(
    'event $i agrees with events-default.txt',
    ({ i, flow }) => {
      const text = defaultFlows[i]!;
      expect(flow.event).toBe(text.event);
      expect(flow.orig).toEqual(text.orig);
      expect(flow.reply).toEqual(text.reply);
      expect(flow.unreplied).toBe(text.unreplied);
      expect(flow.assured).toBe(text.assured);
      expect(flow.timeout).toBe(text.timeout);
      expect(flow.userspace?.portid).toBe(text.userspace?.portid);
    },
  );

  it('ids and second-resolution times agree with events-ts-ext-id.txt', () => {
    expect(xmlFlows.map((f) => f.id)).toEqual(idFlows.map((f) => f.id));
    expect(xmlFlows.map((f) => f.timestamp)).toEqual(
      idFlows.map((f) => Math.floor(f.timestamp ?? Number.NaN)),
    );
  });
});
