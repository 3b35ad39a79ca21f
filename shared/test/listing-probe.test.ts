import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../src/conntrack/conntrack-types.js';
import { probeListingLine, recordSig, recordSignature } from '../src/conntrack/listing-probe.js';
import { parseConntrackLine } from '../src/conntrack/parse-conntrack-line.js';
import { AddressInterner } from '../src/flows/compact-record.js';

const LIST =
  'ipv4     2 udp      17 28 src=10.42.0.33 dst=10.43.0.10 sport=59807 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=14608 mark=0 use=1 id=3067198232';

/** What the full parser makes of a line, in the probe's terms (undefined: not a flow). */
function parsedView(line: string) {
  const r = parseConntrackLine(line);
  if (r.kind !== 'flow') return undefined;
  const signed = recordSignature(r);
  return {
    proto: r.proto,
    id: r.id,
    timeout: r.timeout,
    mark: r.mark,
    unreplied: r.unreplied,
    assured: r.assured,
    protonum: r.protonum,
    sig: signed ? [recordSig.sig0, recordSig.sig1] : undefined,
  };
}

function probedView(line: string) {
  const p = probeListingLine(line);
  if (p === undefined) return undefined;
  return {
    // What the probe takes the protocol number to mean.
    proto: p.protonum === 17 ? 'udp' : 'udplite',
    id: p.id,
    timeout: p.timeout,
    mark: p.mark,
    unreplied: p.unreplied,
    assured: p.assured,
    protonum: p.protonum,
    sig: [p.sig0, p.sig1],
  };
}

describe('probeListingLine', () => {
  it.each([
    { name: 'a listing line (-o extended,id)', line: LIST },
    { name: 'without -o extended', line: LIST.replace('ipv4     2 ', '') },
    {
      name: 'replied and assured, no mark',
      line: 'ipv4     2 udp      17 115 src=10.42.0.33 dst=10.43.0.10 sport=33533 dport=53 src=10.42.0.5 dst=10.42.0.33 sport=53 dport=33533 [ASSURED] use=1 id=7',
    },
    {
      name: 'IPv6',
      line: 'ipv6     10 udp      17 29 src=fd00:10:42::21 dst=fd00:10:43::a sport=40001 dport=53 [UNREPLIED] src=fd00:10:42::5 dst=fd00:10:42::21 sport=53 dport=40001 mark=0 use=1 id=4294967295',
    },
    {
      name: 'accounting counters (ignored, as by the live table)',
      line: 'ipv4     2 udp      17 28 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 packets=3 bytes=180 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1 packets=0 bytes=0 mark=5 use=1 id=12',
    },
    { name: 'udplite', line: LIST.replace('udp      17', 'udplite  136') },
  ])('reads $name as the parser does', ({ line }) => {
    const probed = probedView(line);
    expect(probed).toBeDefined();
    expect(probed).toEqual(parsedView(line));
  });

  it.each([
    { name: 'an event line', line: `    [NEW] ${LIST}` },
    { name: 'a protocol name that is not the number', line: LIST.replace('udp      17', 'tcp      17') },
    { name: 'udplite by the wrong number', line: LIST.replace('udp      17', 'udplite  17') },
    { name: 'a key before the first tuple', line: LIST.replace(' 28 src=', ' 28 mark=0 src=') },
    { name: 'an id before the first tuple', line: LIST.replace(' 28 src=', ' 28 id=5 src=') },
    { name: 'a timestamped event line', line: `[1795689939.618129]\t [UPDATE] ${LIST}` },
    { name: 'no id', line: LIST.replace(/ id=\d+$/, '') },
    { name: 'a zone', line: LIST.replace(' mark=0', ' zone=1 mark=0') },
    { name: 'a directional zone', line: LIST.replace(' [UNREPLIED]', ' zone-orig=1 [UNREPLIED]') },
    {
      name: 'TCP with a state word',
      line: 'ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=40000 [ASSURED] mark=0 use=1 id=9',
    },
    {
      name: 'ICMP',
      line: 'ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1 mark=0 use=1 id=5',
    },
    { name: 'an unknown key', line: LIST.replace(' use=1', ' use=1 secctx=system_u') },
    { name: 'another flag', line: LIST.replace(' mark=0', ' [OFFLOAD] mark=0') },
    { name: 'a second id', line: `${LIST} id=5` },
    { name: 'a second mark', line: LIST.replace(' use=1', ' mark=1 use=1') },
    { name: 'a repeated port', line: LIST.replace(' dport=53 ', ' dport=53 dport=54 ') },
    { name: 'a third tuple', line: LIST.replace(' mark=0', ' src=1.2.3.4 mark=0') },
    { name: 'an incomplete reply tuple', line: LIST.replace(' sport=53 dport=14608', '') },
    {
      name: 'dst before src',
      line: LIST.replace('src=10.42.0.33 dst=10.43.0.10', 'dst=10.43.0.10 src=10.42.0.33'),
    },
    { name: 'a port above 65535', line: LIST.replace('sport=59807', 'sport=65536') },
    { name: 'a port with a letter', line: LIST.replace('sport=59807', 'sport=5980x') },
    { name: 'a non-numeric timeout', line: LIST.replace(' 28 ', ' 2x ') },
    { name: 'no timeout', line: LIST.replace(' 28 ', ' ') },
    { name: 'a tab', line: `${LIST}\t` },
    { name: 'a non-ASCII address', line: LIST.replace('10.42.0.33', '10.42.0.３３') },
    { name: 'an empty line', line: '' },
    { name: 'a tool message', line: 'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.' },
    { name: 'a very long line', line: `${LIST.replace(' use=1', ` use=1 ${'x'.repeat(2000)}=1`)}` },
  ])('leaves $name to the parser', ({ line }) => {
    expect(probeListingLine(line)).toBeUndefined();
  });

  it('reads every line of a recorded poll as the parser does', () => {
    const lines = readFileSync(new URL('./fixtures/seed-incident/list-poll.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(probedView(line), line).toEqual(parsedView(line));
  });

  it("gives a compacted record (the live table's) the signature of its line", () => {
    const parsed = parseConntrackLine(LIST) as FlowRecord;
    const compact = new AddressInterner().compact(parsed);
    expect(recordSignature(compact)).toBe(true);
    expect([recordSig.sig0, recordSig.sig1]).toEqual(probedView(LIST)?.sig);
  });

  it.each([
    { name: 'orig source', from: 'src=10.42.0.33 dst=10.43.0.10', to: 'src=10.42.0.34 dst=10.43.0.10' },
    { name: 'orig destination', from: 'dst=10.43.0.10 sport', to: 'dst=10.43.0.11 sport' },
    { name: 'orig source port', from: 'sport=59807', to: 'sport=59808' },
    { name: 'orig destination port', from: 'dport=53 [UNREPLIED]', to: 'dport=54 [UNREPLIED]' },
    { name: 'reply source (DNAT gone)', from: '[UNREPLIED] src=10.43.0.10', to: '[UNREPLIED] src=10.42.0.5' },
    { name: 'reply destination (SNAT)', from: 'dst=172.20.112.199', to: 'dst=172.20.112.198' },
    { name: 'reply source port', from: 'sport=53 dport=14608', to: 'sport=54 dport=14608' },
    { name: 'reply destination port', from: 'dport=14608', to: 'dport=14609' },
    { name: 'ports swapped', from: 'sport=53 dport=14608', to: 'sport=14608 dport=53' },
    {
      name: 'addresses moved across the separator',
      from: 'src=10.42.0.33 dst=10.43.0.10',
      to: 'src=10.42.0.3 dst=310.43.0.10',
    },
    { name: 'protocol', from: 'udp      17', to: 'udplite  136' },
  ])('changes with the $name', ({ from, to }) => {
    const changed = LIST.replace(from, to);
    expect(changed).not.toBe(LIST);
    expect(probedView(changed)?.sig).not.toEqual(probedView(LIST)?.sig);
  });

  it('never reads a line differently from the parser (generated lines, with damage)', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    const v6 = fc
      .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
      .map((h) => h.map((x) => x.toString(16)).join(':'));
    const port = fc.integer({ min: 0, max: 66000 });
    const extra = fc.constantFrom(
      '',
      '',
      '',
      ' [ASSURED]',
      ' [ASSURED]',
      ' packets=1 bytes=60',
      ' zone=2',
      ' secmark=0',
      ' [OFFLOAD]',
    );
    const line = fc
      .record({
        six: fc.boolean(),
        proto: fc.constantFrom(
          'udp      17',
          'udp      17',
          'udp      17',
          'tcp      17',
          'udplite  17',
          'udplite  136',
        ),
        lead: fc.constantFrom('', '', '', '', '', '', ' mark=0', ' use=1', ' id=7', ' [UNREPLIED]'),
        extended: fc.boolean(),
        a: v4,
        b: v4,
        a6: v6,
        b6: v6,
        p1: port,
        p2: port,
        p3: port,
        p4: port,
        timeout: fc.integer({ min: 0, max: 200 }),
        unreplied: fc.boolean(),
        extra,
        mark: fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: undefined }),
        id: fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: undefined, freq: 10 }),
        damage: fc.option(fc.tuple(fc.nat(), fc.constantFrom(' ', '=', 'x', '1', '[', '\t', '')), {
          nil: undefined,
          freq: 2,
        }),
      })
      .map((g) => {
        const [a, b] = g.six ? [g.a6, g.b6] : [g.a, g.b];
        const head = `${g.extended ? (g.six ? 'ipv6     10 ' : 'ipv4     2 ') : ''}${g.proto} ${g.timeout}${g.lead}`;
        let s = `${head} src=${a} dst=${b} sport=${g.p1} dport=${g.p2}${g.unreplied ? ' [UNREPLIED]' : ''} src=${b} dst=${a} sport=${g.p3} dport=${g.p4}${g.extra}${g.mark === undefined ? '' : ` mark=${g.mark}`} use=1${g.id === undefined ? '' : ` id=${g.id}`}`;
        if (g.damage) {
          const at = g.damage[0] % s.length;
          s = s.slice(0, at) + g.damage[1] + s.slice(at + 1);
        }
        return s;
      });
    let probed = 0;
    fc.assert(
      fc.property(line, (l) => {
        const p = probedView(l);
        if (p === undefined) return;
        probed++;
        expect(p).toEqual(parsedView(l));
      }),
      { numRuns: 6000 },
    );
    // The property is about the lines it reads: most undamaged ones.
    expect(probed).toBeGreaterThan(400);
  });
});
