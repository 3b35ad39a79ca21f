import { describe, expect, it } from 'vitest';
import {
  AddressInterner,
  CompactRecord,
  type FlowRecord,
  FlowStore,
  FlowTracker,
  flatCopy,
  HISTORY_ENTRY_BYTES,
  parseConntrackLine,
} from '../src/index.js';

function rec(line: string): FlowRecord {
  const r = parseConntrackLine(line);
  if (r.kind !== 'flow') throw new Error(`fixture line did not parse: ${line}`);
  return r;
}

const T0 = 1_700_000_000_000;

/** Named fixtures, awkward ones included: what the compact record keeps must equal what the parser read. */
const FIXTURES = [
  {
    name: 'IPv4 event with id, UNREPLIED',
    line: '[1700000000.123456]\t    [NEW] ipv4     2 udp      17 30 src=10.200.123.234 dst=10.96.0.10 sport=40000 dport=53 [UNREPLIED] src=10.244.0.5 dst=10.200.123.234 sport=53 dport=40000 id=3000000035',
  },
  {
    name: 'IPv6 dump line (long addresses), ASSURED, zone and mark',
    line: 'ipv6     10 udp      17 119 src=fd00:10:244:1::1234 dst=fd00:10:96::a sport=53533 dport=53 src=fd00:10:244:2::5 dst=fd00:10:244:1::1234 sport=53 dport=53533 [ASSURED] mark=7 zone=3 use=1 id=12',
  },
  {
    name: 'DESTROY without timeout or id',
    line: '[DESTROY] udp      17 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=20978',
  },
  {
    name: 'ICMP: no ports in either tuple',
    line: 'ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=7 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=7 mark=0 use=1 id=99',
  },
];

describe('CompactRecord', () => {
  /** The fields the live table reads, in the order the class with its tuples as objects wrote them as JSON. */
  const fields = (x: FlowRecord) => {
    const tuple = (t: FlowRecord['orig']) => ({ src: t.src, dst: t.dst, sport: t.sport, dport: t.dport });
    return {
      kind: x.kind,
      event: x.event,
      proto: x.proto,
      protonum: x.protonum,
      timeout: x.timeout,
      state: x.state,
      orig: tuple(x.orig),
      reply: tuple(x.reply),
      unreplied: x.unreplied,
      assured: x.assured,
      zone: x.zone,
      mark: x.mark,
      id: x.id,
    };
  };

  it.each(FIXTURES)('$name: keeps every field the live table reads', ({ line }) => {
    const r = rec(line);
    const c = new AddressInterner().compact(r);
    expect(c).toBeInstanceOf(CompactRecord);
    expect(fields(c)).toEqual(fields(r));
    // Checkpoints and exports serialise records: the same JSON, key for key and in order.
    expect(JSON.stringify(c)).toBe(JSON.stringify(fields(r)));
  });

  it.each(FIXTURES)('$name: holds no object of its own (its tuples are inline fields)', ({ line }) => {
    const c = new AddressInterner().compact(rec(line));
    const objects = Object.entries(c).filter(([, v]) => typeof v === 'object' && v !== null);
    expect(objects).toEqual([]);
  });

  const tuples = (
    t: Partial<Record<'os' | 'od' | 'osp' | 'odp' | 'rs' | 'rd' | 'rsp' | 'rdp', string>> = {},
  ) =>
    rec(
      `ipv4     2 udp      17 30 src=${t.os ?? '10.200.123.234'} dst=${t.od ?? '10.96.0.10'} sport=${t.osp ?? '40000'} dport=${t.odp ?? '53'} [UNREPLIED] src=${t.rs ?? '10.244.0.5'} dst=${t.rd ?? '10.200.123.234'} sport=${t.rsp ?? '53'} dport=${t.rdp ?? '40000'} mark=0 use=1 id=7`,
    );
  it.each([
    { name: 'the same tuples', other: tuples(), same: true },
    { name: 'another original source', other: tuples({ os: '10.200.123.235' }), same: false },
    { name: 'another original destination', other: tuples({ od: '10.96.0.11' }), same: false },
    { name: 'another original source port', other: tuples({ osp: '40001' }), same: false },
    { name: 'another original destination port', other: tuples({ odp: '54' }), same: false },
    { name: 'another reply source', other: tuples({ rs: '10.244.0.6' }), same: false },
    { name: 'another reply destination', other: tuples({ rd: '10.200.123.235' }), same: false },
    { name: 'another reply source port', other: tuples({ rsp: '54' }), same: false },
    { name: 'another reply destination port', other: tuples({ rdp: '40001' }), same: false },
    {
      name: 'only the timeout differs',
      other: rec(
        'ipv4     2 udp      17 29 src=10.200.123.234 dst=10.96.0.10 sport=40000 dport=53 [UNREPLIED] src=10.244.0.5 dst=10.200.123.234 sport=53 dport=40000 mark=0 use=1 id=7',
      ),
      same: true,
    },
  ])('sameTuples: $name', ({ other, same }) => {
    const i = new AddressInterner();
    const a = i.compact(tuples());
    expect(a.sameTuples(i.compact(other, a))).toBe(same);
    expect(i.compact(other).sameTuples(a)).toBe(same);
  });

  it('with() changes id and timeout only, keeping the tuples', () => {
    const c = new AddressInterner().compact(rec(FIXTURES[0]!.line));
    const d = c.with(42, undefined);
    expect([d.id, d.timeout, d.orig, d.reply, d.event]).toEqual([42, undefined, c.orig, c.reply, c.event]);
    expect(c.id).toBe(3000000035);
  });
});

describe('AddressInterner', () => {
  it.each([
    { name: 'short IPv4 (copied by V8 anyway)', addr: '10.0.0.1' },
    { name: '13+ chars IPv4 (would be a slice of its line)', addr: '10.200.123.234' },
    { name: 'IPv6', addr: 'fd00:10:244:1::1234' },
    { name: 'empty', addr: '' },
  ])('$name: one canonical copy, equal to the input', ({ addr }) => {
    const i = new AddressInterner();
    const line = `src=${addr} rest-of-a-long-line`;
    const a = i.canon(line.slice(4, 4 + addr.length));
    const b = i.canon(`${addr}`);
    expect(a).toBe(addr);
    expect(b).toBe(a);
    expect(i.size).toBe(1);
  });

  it('starts over at its capacity, so unique source addresses cannot grow it without bound', () => {
    const i = new AddressInterner(3);
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) i.canon(a);
    expect(i.size).toBe(3);
    i.canon('10.0.0.4');
    expect(i.size).toBe(1);
  });

  it('flatCopy keeps the characters', () => {
    for (const s of ['', 'a', '10.200.123.234', 'fd00:10:244:1::1234', 'x'.repeat(100)])
      expect(flatCopy(s)).toBe(s);
  });
});

describe('history byte cap', () => {
  const line = (t: number) =>
    `ipv4     2 udp      17 ${t} src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.42.0.5 dst=10.42.0.33 sport=53 dport=52001 mark=0 use=1 id=77`;
  it.each([
    { name: 'entry cap tighter', maxHistory: 3, maxHistoryBytes: 10 * HISTORY_ENTRY_BYTES, kept: 3 },
    { name: 'byte cap tighter', maxHistory: 64, maxHistoryBytes: 2 * HISTORY_ENTRY_BYTES, kept: 2 },
    { name: 'byte cap below one entry keeps the latest', maxHistory: 64, maxHistoryBytes: 1, kept: 1 },
    { name: 'no byte cap', maxHistory: 5, maxHistoryBytes: undefined, kept: 5 },
  ])('$name', ({ maxHistory, maxHistoryBytes, kept }) => {
    const t = new FlowTracker({ maxHistory, maxHistoryBytes });
    // Timeouts that go up each reading: resets, never "expected" countdowns, so every reading is kept.
    for (let k = 0; k < 10; k++) t.observe(rec(line(20 + k)), T0 + k * 1000);
    const f = [...t.all()][0]!;
    expect(f.history.length).toBe(kept);
    expect(f.history.at(-1)?.timeout).toBe(29);
  });

  it('the store applies its default byte cap', () => {
    const s = new FlowStore({ maxHistory: 64, maxHistoryBytes: 3 * HISTORY_ENTRY_BYTES });
    for (let k = 0; k < 10; k++) s.ingestDump('poll', [line(20 + k)], T0 + k * 1000);
    expect(s.get('77')?.flow.history.length).toBe(3);
  });
});

describe('FlowStore with compact records: id reuse and missing ids', () => {
  const NEW = (id: number, sport: number) =>
    `[1700000000.000000]\t    [NEW] ipv4     2 udp      17 30 src=10.200.123.234 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=10.42.0.5 dst=10.200.123.234 sport=53 dport=${sport} id=${id}`;
  const DESTROY = (sport: number) =>
    `[1700000001.000000]\t[DESTROY] ipv4     2 udp      17 src=10.200.123.234 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=10.42.0.5 dst=10.200.123.234 sport=53 dport=${sport}`;
  it.each([
    {
      name: 'id reused after DESTROY: a second flow with a suffixed key',
      lines: [NEW(9, 1000), `${DESTROY(1000)} id=9`, NEW(9, 1001)],
      keys: ['9', '9-2'],
      live: ['9-2'],
    },
    {
      name: 'DESTROY without a timeout keeps the timeout it had',
      lines: [NEW(5, 1000), `${DESTROY(1000)} id=5`],
      keys: ['5'],
      live: [],
      check: (s: FlowStore) => {
        const r = s.get('5')!.flow.record;
        expect([r.id, r.timeout, r.event]).toEqual([5, 30, 'DESTROY']);
      },
    },
  ])('$name', ({ lines, keys, live, check }) => {
    const s = new FlowStore();
    for (const [k, l] of lines.entries()) s.ingestEventLine(l, T0 + k * 100);
    const reports = s.reports();
    expect(reports.map((r) => r.id).sort()).toEqual(keys);
    expect(reports.filter((r) => r.destroyedAt === undefined).map((r) => r.id)).toEqual(live);
    check?.(s);
  });

  it('an id-less DESTROY matched by tuple keeps the id it had (tracker with its tuple index)', () => {
    const t = new FlowTracker();
    const i = new AddressInterner();
    t.observe(i.compact(rec(NEW(5, 1000))), 1000);
    const f = t.observe(i.compact(rec(DESTROY(1000))), 2000);
    expect([f.key, f.record.id, f.record.timeout, f.record.event]).toEqual(['5', 5, 30, 'DESTROY']);
    expect(f.record).toBeInstanceOf(CompactRecord);
  });
});

describe('FlowTracker id index without a map entry per flow', () => {
  const NEW = (id: number, sport: number) =>
    rec(
      `    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=10.42.0.5 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`,
    );
  const UPDATE = (id: number, sport: number) =>
    rec(
      `[UPDATE] ipv4     2 udp      17 29 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 src=10.42.0.5 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`,
    );
  const DESTROY = (id: number, sport: number) =>
    rec(
      `[DESTROY] ipv4     2 udp      17 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 src=10.42.0.5 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`,
    );
  const NOID = (sport: number) =>
    rec(
      `    [NEW] udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=10.42.0.5 dst=10.42.0.33 sport=53 dport=${sport}`,
    );

  type Step = { observe: FlowRecord } | { remove: string } | { roundTrip: true };
  it.each<{ name: string; steps: Step[]; last: FlowRecord; expectKey: string; flows: number }>([
    {
      name: 'id reuse: an UPDATE goes to the newest flow with the id, not the destroyed one',
      steps: [{ observe: NEW(7, 1000) }, { observe: DESTROY(7, 1000) }, { observe: NEW(7, 1001) }],
      last: UPDATE(7, 1001),
      expectKey: '7-2',
      flows: 2,
    },
    {
      name: 'the newest removed while the id-keyed one stays: the id finds nothing, even a DESTROY starts a new flow',
      steps: [
        { observe: NEW(7, 1000) },
        { observe: DESTROY(7, 1000) },
        { observe: NEW(7, 1001) },
        { remove: '7-2' },
      ],
      last: DESTROY(7, 1002),
      expectKey: '7-2',
      flows: 2,
    },
    {
      name: 'the same after an export/import round trip (the "none" survives it)',
      steps: [
        { observe: NEW(7, 1000) },
        { observe: DESTROY(7, 1000) },
        { observe: NEW(7, 1001) },
        { remove: '7-2' },
        { roundTrip: true },
      ],
      last: DESTROY(7, 1002),
      expectKey: '7-2',
      flows: 2,
    },
    {
      name: 'id reuse survives a round trip',
      steps: [
        { observe: NEW(7, 1000) },
        { observe: DESTROY(7, 1000) },
        { observe: NEW(7, 1001) },
        { roundTrip: true },
      ],
      last: UPDATE(7, 1001),
      expectKey: '7-2',
      flows: 2,
    },
    {
      name: 'a tuple-keyed flow that learns its id later is found by it',
      steps: [{ observe: NOID(1000) }, { observe: UPDATE(9, 1000) }],
      last: UPDATE(9, 1000),
      expectKey: 'udp|0|10.42.0.33|1000|10.43.0.10|53',
      flows: 1,
    },
    {
      name: 'the id-keyed flow removed: a new flow with the id takes the plain key again',
      steps: [{ observe: NEW(7, 1000) }, { remove: '7' }],
      last: NEW(7, 1003),
      expectKey: '7',
      flows: 1,
    },
  ])('$name', ({ steps, last, expectKey, flows }) => {
    let t = new FlowTracker({ indexIdFlowsByTuple: false });
    let at = 0;
    for (const s of steps) {
      at += 100;
      if ('observe' in s) t.observe(s.observe, at);
      else if ('remove' in s) t.remove(s.remove);
      else {
        const copy = new FlowTracker({ indexIdFlowsByTuple: false });
        copy.importState(JSON.parse(JSON.stringify(t.exportState())));
        t = copy;
      }
    }
    expect(t.observe(last, at + 100).key).toBe(expectKey);
    expect(t.size).toBe(flows);
  });
});
