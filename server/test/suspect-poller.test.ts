/** The `poll` source (suspect re-reads) against the fake conntrack in test/fake-bin. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FullDumpCover } from '../src/sources/conntrack-dump-source.js';
import type { Supervisor } from '../src/sources/supervisor.js';
import {
  createSuspectPoller,
  type SuspectTuple,
  suspectLines,
  suspectQueryArgs,
} from '../src/sources/suspect-poller.js';
import { fakeConntrackEnv, recordingSink } from './support/fake-conntrack.js';

const ENTRIES = [
  'ipv4     2 udp      17 28 src=10.42.0.33 dst=10.43.0.10 sport=59807 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=14608 mark=0 use=1 id=3067198232',
  'ipv4     2 udp      17 29 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=20978 mark=0 use=1 id=137932478',
];

const suspect = (src: string, sport: number, dst: string, dport: number): SuspectTuple => ({
  src,
  sport,
  dst,
  dport,
});

let env: ReturnType<typeof fakeConntrackEnv>;
let _savedEnv: NodeJS.ProcessEnv;
let stateDir: string;
let poller: Supervisor | undefined;

beforeEach(() => {
  env = fakeConntrackEnv('ctscope-poll-');
  _savedEnv = env.saved;
  stateDir = env.stateDir;
  const list = join(stateDir, 'list.txt');
  writeFileSync(list, `${ENTRIES.join('\n')}\n`);
  process.env.FAKE_CT_LIST = list;
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  env.restore();
});

const waitFor = (cond: () => void, timeout = 4000) => vi.waitFor(cond, { timeout, interval: 10 });

describe('createSuspectPoller', () => {
  it('runs one query per (dst, dport) group, exact for a lone suspect, and one onDump per poll', async () => {
    const suspects = [
      suspect('10.42.0.33', 52001, '10.43.0.10', 53),
      suspect('10.42.0.33', 59807, '10.43.0.10', 53),
      suspect('10.42.0.33', 39068, '10.43.0.10', 53),
      suspect('10.42.0.33', 48602, '172.20.112.1', 1024),
    ];
    let stopping: Promise<void> | undefined;
    const { rec, sink } = recordingSink(() => {
      if (rec.dumps.length === 2) stopping = poller!.stop();
    });
    poller = createSuspectPoller({
      sink,
      node: {},
      intervalMs: () => 30,
      suspects: () => suspects,
      costFactor: 0,
    });
    poller.start();
    await waitFor(() => expect(stopping).toBeDefined());
    await stopping;
    const group = 'conntrack -L -p udp --orig-dst 10.43.0.10 --dport 53 -o extended,id';
    const lone =
      'conntrack -L -p udp --orig-dst 172.20.112.1 --dport 1024 --orig-src 10.42.0.33 --sport 48602 -o extended,id';
    expect(env.calls()).toEqual([group, lone, group, lone]);
    // The fake lists both entries for every query; only the queried suspects' lines are kept (the lone
    // suspect's query lists neither of them).
    expect(rec.dumps).toMatchObject([
      { scope: 'poll', lines: ENTRIES },
      { scope: 'poll', lines: ENTRIES },
    ]);
    expect(poller.state).toMatchObject({ name: 'poll', state: 'stopped', restarts: 0 });
  });

  it('caps processes per poll and takes the groups round-robin', async () => {
    const suspects = [1, 2, 3, 4, 5].map((n) => suspect('10.42.0.33', 40000 + n, `10.0.0.${n}`, 53));
    let stopping: Promise<void> | undefined;
    const { rec, sink } = recordingSink(() => {
      if (rec.dumps.length === 3) stopping = poller!.stop();
    });
    poller = createSuspectPoller({
      sink,
      node: {},
      intervalMs: () => 20,
      suspects: () => suspects,
      maxQueriesPerPoll: 2,
      costFactor: 0,
    });
    poller.start();
    await waitFor(() => expect(stopping).toBeDefined());
    await stopping;
    const dsts = env.calls().map((c) => /--orig-dst (\S+)/.exec(c)?.[1]);
    expect(dsts).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.1']);
    // One poll per batch; the fake's two entries are none of these suspects, so nothing is passed on.
    expect(rec.dumps.map((d) => d.lines.length)).toEqual([0, 0, 0]);
  });

  // Each poll costs ≥ 100 ms (the fake's delay), so 5 × its cost is ≥ 500 ms; the interval is 10 ms.
  it.each<{
    name: string;
    entries: number;
    costFactor: number;
    maxCostWaitMs?: number;
    min: number;
    max: number;
  }>([
    { name: 'a big listing: costFactor × its cost', entries: 6, costFactor: 5, min: 500, max: Infinity },
    { name: 'a small listing: the interval', entries: 5, costFactor: 5, min: 0, max: 500 },
    {
      name: 'a big listing, capped: maxCostWaitMs',
      entries: 6,
      costFactor: 100,
      maxCostWaitMs: 400,
      min: 400,
      max: 100 * 100,
    },
  ])('after $name', async ({ entries, costFactor, maxCostWaitMs, min, max }) => {
    const many = join(stateDir, 'many.txt');
    const line = (i: number) => ENTRIES[1]!.replace('sport=52001', `sport=${1024 + (i % 60000)}`);
    writeFileSync(many, `${Array.from({ length: entries }, (_, i) => line(i)).join('\n')}\n`);
    Object.assign(process.env, { FAKE_CT_LIST: many, FAKE_CT_LIST_DELAY: '0.1' });
    const suspects = [suspect('10.42.0.33', 52001, '10.43.0.10', 53)];
    const { rec, sink } = recordingSink();
    poller = createSuspectPoller({
      sink,
      node: {},
      intervalMs: () => 10,
      suspects: () => suspects,
      costFactor,
      maxCostWaitMs,
      bigListingLines: 5,
    });
    poller.start();
    await waitFor(() => expect(rec.dumps.length).toBe(2), 15_000);
    const gap = rec.dumps[1]!.at - rec.dumps[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(min);
    expect(gap).toBeLessThan(max);
  });

  it('treats "exit 1 with 0 flow entries" as an empty result, not a failure', async () => {
    delete process.env.FAKE_CT_LIST;
    process.env.FAKE_CT_LIST_EMPTY_EXIT = '1';
    const { rec, sink } = recordingSink();
    poller = createSuspectPoller({
      sink,
      node: {},
      intervalMs: () => 20,
      suspects: () => [suspect('10.42.0.33', 52001, '10.43.0.10', 53)],
    });
    poller.start();
    await waitFor(() => expect(rec.dumps.length).toBeGreaterThanOrEqual(2));
    expect(rec.dumps[0]).toMatchObject({ scope: 'poll', lines: [] });
    expect(rec.states.some((s) => s.state === 'failed')).toBe(false);
  });

  it('runs nothing while there are no suspects', async () => {
    const { rec, sink } = recordingSink();
    let reads = 0;
    poller = createSuspectPoller({
      sink,
      node: {},
      intervalMs: () => 20,
      suspects: () => {
        reads++;
        return [];
      },
    });
    poller.start();
    await waitFor(() => expect(reads).toBeGreaterThanOrEqual(3));
    expect(env.calls()).toEqual([]);
    expect(rec.dumps).toEqual([]);
  });

  it('skips its turn while a full dump covers the suspects, and polls again after', async () => {
    const { rec, sink } = recordingSink();
    let covered: FullDumpCover | undefined = 'due';
    let asked = 0;
    poller = createSuspectPoller({
      sink,
      node: {},
      intervalMs: () => 20,
      suspects: () => [suspect('10.42.0.33', 52001, '10.43.0.10', 53)],
      fullDumpCovers: () => {
        asked++;
        return covered;
      },
      maxCoveredMs: 60_000,
    });
    poller.start();
    await waitFor(() => expect(asked).toBeGreaterThanOrEqual(3));
    expect(env.calls()).toEqual([]);
    expect(rec.dumps).toEqual([]);
    covered = undefined;
    await waitFor(() => expect(rec.dumps.length).toBeGreaterThanOrEqual(1));
    expect(rec.dumps[0]!.lines).toEqual([ENTRIES[1]]);
  });

  /**
   * A poller for the seed suspect whose clock moves 30 ms at each turn, when it asks about full dumps; `cover`
   * answers for the clock then. `turns` holds the clock of every turn, `polledAt()` the clock of the first poll.
   */
  function clockedPoller(
    cover: (clock: number) => FullDumpCover | undefined,
    opts: { maxCoveredMs: number; lastFullDumpAt?: (turns: number[]) => number | undefined },
  ) {
    const { rec, sink } = recordingSink();
    let clock = 0;
    const turns: number[] = [];
    let polledAt: number | undefined;
    const onDump = sink.onDump;
    sink.onDump = (...args) => {
      polledAt ??= clock;
      onDump(...args);
    };
    poller = createSuspectPoller({
      sink,
      node: {},
      intervalMs: () => 20,
      suspects: () => [suspect('10.42.0.33', 52001, '10.43.0.10', 53)],
      fullDumpCovers: () => {
        clock += 30;
        turns.push(clock);
        return cover(clock);
      },
      maxCoveredMs: opts.maxCoveredMs,
      lastFullDumpAt: opts.lastFullDumpAt && (() => opts.lastFullDumpAt!(turns)),
      now: () => clock,
    });
    poller.start();
    return { rec, turns, polledAt: () => polledAt };
  }

  it('skips for a full dump only so long in a row: a dump owed to loss that never stops does not silence it', async () => {
    const { rec, turns } = clockedPoller(() => 'due', { maxCoveredMs: 100 });
    // Covered at every turn: each turn moves the clock 30 ms, so every fourth or fifth turn polls anyway.
    await waitFor(() => expect(rec.dumps.length).toBeGreaterThanOrEqual(2));
    expect(turns.length).toBeGreaterThanOrEqual(2 * 4);
    expect(rec.dumps[0]!.lines).toEqual([ENTRIES[1]]);
  });

  it('does not poll beside a running full dump until it has run longer than the cap', async () => {
    const { rec, turns, polledAt } = clockedPoller(() => 'running', { maxCoveredMs: 300 });
    // A dump that never ends (failing and restarting, say) does not silence the poll: it runs once 300 ms of
    // clock have passed since the dump was first seen running, and not before.
    await waitFor(() => expect(rec.dumps.length).toBeGreaterThanOrEqual(1));
    expect(polledAt()! - turns[0]!).toBeGreaterThanOrEqual(300);
    expect(polledAt()! - turns[0]!).toBeLessThan(300 + 30);
    expect(rec.dumps[0]!.lines).toEqual([ENTRIES[1]]);
  });

  it('counts a running full dump as a read of the suspects when the next one is due', async () => {
    // A dump runs for 150 ms of clock (within the cap), then another is due (its successor, after loss).
    const { rec, turns } = clockedPoller((clock) => (clock > 150 ? 'due' : 'running'), { maxCoveredMs: 300 });
    await waitFor(() => expect(rec.dumps.length).toBeGreaterThanOrEqual(1));
    // The cap counts from the dump's last running turn (150 ms), not from the start: no poll before 450 ms.
    expect(turns.length * 30).toBeGreaterThanOrEqual(450);
  });

  it('counts a completed full dump as a read of the suspects when the next one is due', async () => {
    // A dump completes at every turn, and another is already due.
    const { rec, turns } = clockedPoller(() => 'due', {
      maxCoveredMs: 100,
      lastFullDumpAt: (turns) => turns.at(-1),
    });
    // Without the completed dumps, the cap (100 ms, 30 ms a turn) would let it poll by the fifth turn.
    await waitFor(() => expect(turns.length).toBeGreaterThanOrEqual(15));
    expect(rec.dumps).toEqual([]);
  });

  it('wraps queries in the namespace and fails visibly when it is missing', async () => {
    process.env.FAKE_NETNS = 'ns1';
    const one = [suspect('10.42.0.33', 52001, '10.43.0.10', 53)];
    const ok = recordingSink();
    poller = createSuspectPoller({
      sink: ok.sink,
      node: { netns: 'ns1' },
      intervalMs: () => 1000,
      suspects: () => one,
    });
    poller.start();
    await waitFor(() => expect(ok.rec.dumps).toHaveLength(1));
    await poller.stop();
    const args =
      '-L -p udp --orig-dst 10.43.0.10 --dport 53 --orig-src 10.42.0.33 --sport 52001 -o extended,id';
    expect(env.calls()).toEqual([`ip netns exec ns1 conntrack ${args}`, `conntrack ${args}`]);

    const bad = recordingSink();
    poller = createSuspectPoller({
      sink: bad.sink,
      node: { netns: 'gone' },
      intervalMs: () => 20,
      suspects: () => one,
      minBackoffMs: 60_000,
    });
    poller.start();
    await waitFor(() => expect(poller?.state.state).toBe('failed'));
    expect(poller.state.lastError).toBe(
      `ip netns exec gone conntrack ${args}: Cannot open network namespace "gone": No such file or directory`,
    );
    expect(bad.rec.dumps).toEqual([]);
  });
});

describe('suspectQueryArgs', () => {
  it('spells out the family for IPv6 destinations', () => {
    const s = suspect('fd00::33', 5353, 'fd00::a', 53);
    expect(suspectQueryArgs({ key: 'fd00::a 53', dst: 'fd00::a', dport: 53, members: [s] })).toEqual([
      '-L',
      '-p',
      'udp',
      '-f',
      'ipv6',
      '--orig-dst',
      'fd00::a',
      '--dport',
      '53',
      '--orig-src',
      'fd00::33',
      '--sport',
      '5353',
      '-o',
      'extended,id',
    ]);
  });
});

describe('suspectLines', () => {
  const A = ENTRIES[0]!; // 10.42.0.33:59807 → 10.43.0.10:53
  const B = ENTRIES[1]!; // 10.42.0.33:52001 → 10.43.0.10:53
  // Same reply-direction src/sport as A's original tuple would be a false match if the reply fields were read.
  const replyOnly =
    'ipv4     2 udp      17 28 src=10.42.0.9 dst=10.43.0.10 sport=1111 dport=53 [UNREPLIED] src=10.42.0.33 dst=10.42.0.9 sport=59807 dport=1111 mark=0 use=1 id=1';
  it.each([
    { name: 'keeps the suspects only', members: [suspect('10.42.0.33', 52001, '10.43.0.10', 53)], want: [B] },
    {
      name: 'keeps every listed suspect',
      members: [
        suspect('10.42.0.33', 52001, '10.43.0.10', 53),
        suspect('10.42.0.33', 59807, '10.43.0.10', 53),
      ],
      want: [A, B],
    },
    {
      name: 'matches the original tuple, not the reply',
      members: [suspect('10.42.0.33', 59807, '10.43.0.10', 53)],
      want: [A],
    },
    { name: 'same address, other port', members: [suspect('10.42.0.33', 5200, '10.43.0.10', 53)], want: [] },
    { name: 'no members', members: [], want: [] },
  ])('$name', ({ members, want }) => {
    expect(suspectLines([A, B, replyOnly, 'garbage', ''], members)).toEqual(want);
  });
});
