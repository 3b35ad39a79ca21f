import { describe, expect, it } from 'vitest';
import { type FlowRecord, FlowTracker, parseConntrackLine } from '../src/index.js';

function rec(line: string): FlowRecord {
  const r = parseConntrackLine(line);
  if (r.kind !== 'flow') throw new Error(`fixture line did not parse: ${line}`);
  return r;
}

const NEW_NOID =
  '    [NEW] udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=20978';
const LIST_ID =
  'ipv4     2 udp      17 29 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=20978 mark=0 use=1 id=137932478';
const DESTROY_NOID =
  '[DESTROY] udp      17 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=20978';
const NEW_OTHER_ID =
  '    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=172.20.112.199 dst=10.42.0.33 sport=53 dport=52001 id=5';

describe('FlowTracker', () => {
  it.each([
    {
      name: 'id-less NEW then id-carrying dump line: one flow',
      lines: [NEW_NOID, LIST_ID],
      flows: 1,
      live: 1,
    },
    {
      name: 'NEW, DESTROY, NEW on the same tuple: two flows',
      lines: [NEW_NOID, DESTROY_NOID, NEW_NOID],
      flows: 2,
      live: 1,
    },
    {
      name: 'dump line then a NEW with another id on the tuple: the old one is superseded',
      lines: [LIST_ID, NEW_OTHER_ID],
      flows: 2,
      live: 1,
    },
    { name: 'same dump line twice: one flow, two readings', lines: [LIST_ID, LIST_ID], flows: 1, live: 1 },
  ])('$name', ({ lines, flows, live }) => {
    const t = new FlowTracker();
    lines.forEach((l, i) => {
      t.observe(rec(l), i * 1000);
    });
    const all = [...t.all()];
    expect(all).toHaveLength(flows);
    expect(all.filter((f) => f.destroyedAt === undefined)).toHaveLength(live);
  });

  it('keeps the timeout from before a DESTROY that lacks one, and records the lifecycle', () => {
    const t = new FlowTracker();
    t.observe(rec(NEW_NOID), 0);
    const f = t.observe(rec(DESTROY_NOID), 2000);
    expect(f.record.timeout).toBe(30);
    expect(f.createdAt).toBe(0);
    expect(f.destroyedAt).toBe(2000);
    expect(f.history.map((h) => h.event)).toEqual(['NEW', 'DESTROY']);
    expect(f.history.map((h) => h.timeout)).toEqual([30, undefined]);
  });

  it('bounds the history per flow', () => {
    const t = new FlowTracker({ maxHistory: 4 });
    // Every reading 5 s later still shows 29 s: reset each time, so each one is kept.
    for (let i = 0; i < 10; i++) t.observe(rec(LIST_ID), i * 5000);
    const [f] = [...t.all()];
    expect(f!.history).toHaveLength(4);
    expect(f!.history[0]!.at).toBe(30_000);
  });

  const listAt = (timeout: number, unreplied = true) =>
    rec(LIST_ID.replace(' 29 src=', ` ${timeout} src=`).replace(unreplied ? '' : ' [UNREPLIED]', ''));
  it.each([
    {
      name: 'a countdown adds nothing',
      readings: [
        [0, 29],
        [5000, 24],
        [10_000, 19],
      ],
      kept: [0],
    },
    {
      name: 'truncation noise adds nothing',
      readings: [
        [0, 29],
        [2500, 27],
        [5000, 25],
      ],
      kept: [0],
    },
    {
      name: 'a reset is kept',
      readings: [
        [0, 29],
        [5000, 24],
        [10_000, 29],
      ],
      kept: [0, 10_000],
    },
    {
      name: 'faster than time is kept',
      readings: [
        [0, 29],
        [1000, 20],
      ],
      kept: [0, 1000],
    },
    {
      name: 'a timeout that stays put is kept (a reset in the making)',
      readings: [
        [0, 29],
        [500, 29],
        [1000, 29],
      ],
      kept: [0, 500, 1000],
    },
    {
      name: 'a changed UNREPLIED state is kept',
      readings: [
        [0, 29, 1],
        [5000, 24, 0],
      ],
      kept: [0, 5000],
    },
    // [at, timeout, unreplied, readFrom]: a 4 s dump from 6000 to 10000 may list the entry at any time in it.
    {
      name: 'a countdown read late in a long dump adds nothing',
      readings: [
        [0, 29],
        [10_000, 20, 1, 6000],
      ],
      kept: [0],
    },
    {
      name: 'a reset inside a long dump is kept',
      readings: [
        [0, 29],
        [10_000, 26, 1, 6000],
      ],
      kept: [0, 6000],
    },
  ])('records a dump reading only when it says something new: $name', ({ readings, kept }) => {
    const t = new FlowTracker();
    for (const [at, timeout, unreplied, readFrom] of readings)
      t.observe(listAt(timeout!, unreplied !== 0), at!, readFrom);
    const [f] = [...t.all()];
    expect(f!.history.map((h) => h.at)).toEqual(kept);
    // The record and lastSeen still follow every reading.
    expect(f!.lastSeen).toBe(readings.at(-1)![0]);
    expect(f!.record.timeout).toBe(readings.at(-1)![1]);
  });
});

describe('FlowTracker with conntrack ids reused by the kernel', () => {
  const NEW_ID = (id: number, rsrc: string) =>
    `    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=${rsrc} dst=172.20.112.199 sport=53 dport=20978 id=${id}`;
  const DESTROY_ID = (id: number) =>
    `[DESTROY] ipv4     2 udp      17 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 src=172.20.112.199 dst=10.42.0.33 sport=53 dport=52001 id=${id}`;

  it("a NEW that reuses a destroyed flow's id starts a new live flow with its own key", () => {
    const t = new FlowTracker({ indexIdFlowsByTuple: false });
    t.observe(rec(NEW_ID(7, '172.20.112.199')), 0);
    t.observe(rec(DESTROY_ID(7)), 1000);
    const reborn = t.observe(rec(NEW_ID(7, '10.43.0.10')), 1001);
    expect(reborn.destroyedAt).toBeUndefined();
    expect(reborn.key).toBe('7-2');
    expect(reborn.record.reply.src).toBe('10.43.0.10');
    expect(t.get('7')?.destroyedAt).toBe(1000);
    // Later lines with that id belong to the live flow.
    expect(t.observe(rec(LIST_ID.replace('id=137932478', 'id=7')), 2000)).toBe(reborn);
  });

  it.each([
    { name: 'listed before its DESTROY came in: a stale reading, no new flow', readFrom: 500, flows: 1 },
    { name: 'listed by a dump that started after its DESTROY: a new entry', readFrom: 1500, flows: 2 },
  ])('a dump line for a destroyed flow, $name', ({ readFrom, flows }) => {
    const t = new FlowTracker({ indexIdFlowsByTuple: false });
    const listed = LIST_ID.replace('id=137932478', 'id=7').replace(
      'src=10.43.0.10 dst=172',
      'src=172.20.112.199 dst=172',
    );
    t.observe(rec(NEW_ID(7, '172.20.112.199')), 0);
    t.observe(rec(DESTROY_ID(7)), 1000);
    t.observe(rec(listed), 2000, readFrom);
    expect([...t.all()].length).toBe(flows);
    expect(t.get('7')?.destroyedAt).toBe(1000);
  });

  it('a second NEW for a live id retires the old flow (its DESTROY was lost)', () => {
    const t = new FlowTracker({ indexIdFlowsByTuple: false });
    const first = t.observe(rec(NEW_ID(8, '172.20.112.199')), 0);
    const second = t.observe(rec(NEW_ID(8, '10.43.0.10')), 5000);
    expect(second).not.toBe(first);
    expect(first.destroyedAt).toBe(5000);
  });

  it('two live entries sharing an id (a 32-bit hash) are two flows, each taking its own lines', () => {
    const t = new FlowTracker({ indexIdFlowsByTuple: false });
    const line = (event: string, sport: number, id: number) =>
      `${event} ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=10.42.0.5 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`;
    const a = t.observe(rec(line('    [NEW]', 40001, 9)), 0);
    const b = t.observe(rec(line('    [NEW]', 40002, 9)), 10);
    expect(b).not.toBe(a);
    expect([a.destroyedAt, b.destroyedAt]).toEqual([undefined, undefined]);
    // Later lines of either entry, by id and tuple, reach their own flow.
    expect(t.observe(rec(line(' [UPDATE]', 40001, 9).replace(' [UNREPLIED]', '')), 20)).toBe(a);
    expect(t.observe(rec(line(' [UPDATE]', 40002, 9).replace(' [UNREPLIED]', '')), 30)).toBe(b);
    expect(t.observe(rec(line('[DESTROY]', 40001, 9)), 40)).toBe(a);
    expect(a.destroyedAt).toBe(40);
    expect(b.destroyedAt).toBeUndefined();
    expect(t.observe(rec(line('[DESTROY]', 40002, 9)), 50)).toBe(b);
    expect([...t.all()].filter((f) => f.destroyedAt === undefined)).toHaveLength(0);
  });
});

describe('FlowTracker first histories', () => {
  const NEW = (sport: number, id: number) =>
    `    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=172.20.112.199 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`;
  const UPDATE = (sport: number, id: number) =>
    ` [UPDATE] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 src=172.20.112.199 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`;

  it('flows first seen by the same read share one history until one of them changes', () => {
    const t = new FlowTracker({ maxHistory: 8 });
    const a = t.observe(rec(NEW(1001, 1)), 5000);
    const b = t.observe(rec(NEW(1002, 2)), 5000);
    const c = t.observe(rec(NEW(1003, 3)), 5001);
    expect(b.history).toBe(a.history);
    expect(c.history).not.toBe(a.history);
    // The answer to one is its own history; the other keeps its single NEW reading.
    t.observe(rec(UPDATE(1001, 1)), 5200);
    expect(a.history.map((h) => h.event)).toEqual(['NEW', 'UPDATE']);
    expect(b.history.map((h) => [h.event, h.at, h.timeout])).toEqual([['NEW', 5000, 30]]);
  });
});
