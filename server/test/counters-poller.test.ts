import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SourceState } from '@ctscope/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCountersPoller } from '../src/sources/counters-poller.js';
import type { NodeCounters, SourceSink } from '../src/sources/source-types.js';
import type { Supervisor } from '../src/sources/supervisor.js';

const FAKES = join(import.meta.dirname, 'fake-bin-nat');
const MAX_FILE = 'sys/net/netfilter/nf_conntrack_max';

// Sums of the two CPU lines the fake conntrack prints by default.
const SUMMED = {
  found: 1,
  invalid: 8,
  insert: 0,
  insert_failed: 9,
  drop: 1,
  early_drop: 3,
  error: 0,
  search_restart: 2,
  clash_resolve: 5,
  chaintoolong: 0,
};

let tmp: string;
let savedEnv: NodeJS.ProcessEnv;
let pollers: Supervisor[];

beforeEach(() => {
  savedEnv = { ...process.env };
  tmp = mkdtempSync(join(tmpdir(), 'ctscope-counters-'));
  mkdirSync(join(tmp, 'state'));
  process.env.FAKE_STATE_DIR = join(tmp, 'state');
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  for (const t of ['conntrack', 'ip', 'fake-lib.sh']) symlinkSync(join(FAKES, t), join(bin, t));
  process.env.PATH = bin;
  pollers = [];
});

afterEach(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  process.env = savedEnv;
  rmSync(tmp, { recursive: true, force: true });
});

function write(rel: string, text: string): string {
  const file = join(tmp, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

function calls(): string[] {
  try {
    return readFileSync(join(tmp, 'state', 'calls.log'), 'utf8')
      .trim()
      .split('\n');
  } catch {
    return []; // no tool was run
  }
}

/** The conntrack -S and -C runs among the calls. */
const conntrackRuns = (): string[] => calls().filter((c) => /\bconntrack -[SC]$/.test(c));

function run(opts: { netns?: string; procRoot: string; netnsRoot?: string; maxReuseMs?: number }) {
  const counters: NodeCounters[] = [];
  const states: SourceState[] = [];
  const sink: SourceSink = {
    onEventLine() {},
    onEventLoss() {},
    onDump() {},
    onNat() {},
    onCounters: (c) => counters.push(c),
    onSourceState: (s) => states.push(s),
  };
  let clock = 42_000;
  const node = opts.netns ? { netns: opts.netns } : {};
  const p = createCountersPoller({
    sink,
    node,
    intervalMs: 10,
    now: () => clock++,
    procRoot: opts.procRoot,
    netnsRoot: opts.netnsRoot,
    maxReuseMs: opts.maxReuseMs ?? 0,
  });
  pollers.push(p);
  p.start();
  return { p, counters, states };
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('createCountersPoller', () => {
  it('sums conntrack -S over CPUs and reports the count and nf_conntrack_max', async () => {
    write(`proc/${MAX_FILE}`, '262144\n');
    process.env.FAKE_CONNTRACK_COUNT = '4097';
    const { p, counters, states } = run({ procRoot: join(tmp, 'proc') });
    await waitFor(() => counters.length >= 2, 'two readings');
    expect(p.state.name).toBe('counters');
    expect(counters[0]).toEqual({ at: expect.any(Number), count: 4097, max: 262144, stats: SUMMED });
    expect(counters[0]!.at).toBeGreaterThanOrEqual(42_000);
    expect(counters[1]!.at).toBeGreaterThan(counters[0]!.at);
    expect(states.map((s) => s.state)).not.toContain('failed');
    expect(calls()).toEqual(expect.arrayContaining(['conntrack -S', 'conntrack -C']));
  });

  it('sums any counter set the -S output carries (e.g. more CPUs, other keys)', async () => {
    write(`proc/${MAX_FILE}`, '65536');
    process.env.FAKE_CONNTRACK_STATS = write(
      'stats.txt',
      ['cpu=0 found=1 drop=2', 'cpu=1 found=10 drop=20', 'cpu=2 found=100 drop=200 new_key=7', ''].join('\n'),
    );
    const { counters } = run({ procRoot: join(tmp, 'proc') });
    await waitFor(() => counters.length >= 1, 'a reading');
    expect(counters[0]!.stats).toEqual({ found: 111, drop: 222, new_key: 7 });
  });

  it('still reports count and max when conntrack -S is unsupported', async () => {
    write(`proc/${MAX_FILE}`, '262144\n');
    process.env.FAKE_CONNTRACK_FAIL = 'S';
    const { p, counters, states } = run({ procRoot: join(tmp, 'proc') });
    await waitFor(() => counters.length >= 1, 'a reading');
    expect(counters[0]).toEqual({ at: expect.any(Number), count: 1234, max: 262144, stats: {} });
    expect(p.state.state).toBe('running');
    expect(states.map((s) => s.state)).not.toContain('failed');
  });

  it('reports stats alone when -C fails and nf_conntrack_max is missing', async () => {
    process.env.FAKE_CONNTRACK_FAIL = 'C';
    const { counters } = run({ procRoot: join(tmp, 'proc') });
    await waitFor(() => counters.length >= 1, 'a reading');
    expect(counters[0]).toEqual({ at: expect.any(Number), stats: SUMMED });
  });

  it('fails, naming all three causes, only when nothing could be read', async () => {
    process.env.FAKE_CONNTRACK_FAIL = 'S,C';
    const { p, counters } = run({ procRoot: join(tmp, 'proc') });
    await waitFor(() => p.state.state === 'failed', 'state failed');
    expect(counters).toEqual([]);
    const err = p.state.lastError ?? '';
    expect(err).toContain('conntrack -S: conntrack v1.4.7 (conntrack-tools): Operation failed');
    expect(err).toContain('conntrack -C: conntrack v1.4.7 (conntrack-tools): Operation failed');
    expect(err).toContain(`${join(tmp, 'proc', MAX_FILE)}: ENOENT`);
  });

  it('reads nf_conntrack_max inside the netns, not from the host /proc', async () => {
    write(`proc/${MAX_FILE}`, '262144\n'); // host value: must not be used
    write(`netns-proc/${MAX_FILE}`, '1024\n');
    process.env.FAKE_NETNS_PROC = join(tmp, 'netns-proc');
    process.env.FAKE_NETNS_LIST = write('netns', 'lab\n');
    const { counters } = run({ netns: 'lab', procRoot: join(tmp, 'proc') });
    await waitFor(() => counters.length >= 1, 'a reading');
    expect(counters[0]).toEqual({ at: expect.any(Number), count: 1234, max: 1024, stats: SUMMED });
    expect(calls()).toEqual(
      expect.arrayContaining([
        'ip netns exec lab conntrack -S',
        'ip netns exec lab conntrack -C',
        'ip netns exec lab cat /proc/sys/net/netfilter/nf_conntrack_max',
      ]),
    );
  });
});

// `/proc/net/stat/nf_conntrack` as kernel 6.x writes it: two CPUs, 0x1001 entries.
const STAT_FILE = [
  'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart',
  '00001001  00000002 00000001 00000000 00000003 00000000 00000000 00000000 00000000 00000004 00000001 00000001 00000000  00000000 00000000 00000000 00000001',
  '00001001  00000003 00000000 00000000 00000005 00000000 00000000 00000000 00000000 00000005 00000000 00000002 00000000  00000000 00000000 00000000 00000001',
  '',
].join('\n');
const FROM_STAT_FILE = { ...SUMMED, count: 0x1001 };

/** A namespace `name` under `tmp/netns` and processes in `tmp/proc` whose ns/net link names it (or another). */
function netns(name: string): { root: string; link: string } {
  const file = write(`netns/${name}`, '');
  return { root: join(tmp, 'netns'), link: `net:[${statSync(file).ino}]` };
}
function proc(pid: number, link: string, stat?: string): void {
  mkdirSync(join(tmp, 'proc', String(pid), 'ns'), { recursive: true });
  const ns = join(tmp, 'proc', String(pid), 'ns', 'net');
  rmSync(ns, { force: true });
  symlinkSync(link, ns);
  if (stat !== undefined) write(`proc/${pid}/net/stat/nf_conntrack`, stat);
}

describe('createCountersPoller reading the stat file instead of running conntrack', () => {
  it('outside a netns: our own net/stat/nf_conntrack, and no conntrack -S or -C', async () => {
    write(`proc/${MAX_FILE}`, '262144\n');
    write('proc/self/net/stat/nf_conntrack', STAT_FILE);
    const { counters } = run({ procRoot: join(tmp, 'proc') });
    await waitFor(() => counters.length >= 2, 'two readings');
    const { stats, count, max } = counters[1]!;
    expect({ ...stats, count, max }).toEqual({ ...FROM_STAT_FILE, max: 262144 });
    expect(conntrackRuns()).toEqual([]);
  });

  it('inside a netns: the file of a process that lives in it, found among others, no exec but the max', async () => {
    const lab = netns('lab');
    const other = netns('other');
    // Scanned newest first: the other namespace's process and a link of another kind come before ours.
    proc(300, other.link, STAT_FILE.replaceAll('00001001', '00000007'));
    proc(250, 'mnt:[1]');
    proc(200, lab.link, STAT_FILE);
    write(`netns-proc/${MAX_FILE}`, '1024\n');
    process.env.FAKE_NETNS_PROC = join(tmp, 'netns-proc');
    process.env.FAKE_NETNS_LIST = write('netns-list', 'lab\n');
    const { counters } = run({ netns: 'lab', procRoot: join(tmp, 'proc'), netnsRoot: lab.root });
    await waitFor(() => counters.length >= 2, 'two readings');
    const { stats, count, max } = counters[1]!;
    expect({ ...stats, count, max }).toEqual({ ...FROM_STAT_FILE, max: 1024 });
    expect(conntrackRuns()).toEqual([]);
    expect(calls()).toContain('ip netns exec lab cat /proc/sys/net/netfilter/nf_conntrack_max');
  });

  it('follows the namespace to another process when the pid it used leaves (exits, pid reused)', async () => {
    const lab = netns('lab');
    proc(200, lab.link, STAT_FILE);
    write(`proc/${MAX_FILE}`, '1\n');
    process.env.FAKE_NETNS_PROC = join(tmp, 'proc');
    process.env.FAKE_NETNS_LIST = write('netns-list', 'lab\n');
    const { counters } = run({ netns: 'lab', procRoot: join(tmp, 'proc'), netnsRoot: lab.root });
    await waitFor(() => counters.some((c) => c.count === 0x1001), 'a reading through pid 200');
    proc(150, lab.link, STAT_FILE.replaceAll('00001001', '00000009'));
    proc(200, 'net:[1]');
    await waitFor(() => counters.some((c) => c.count === 9), 'a reading through pid 150');
    expect(conntrackRuns()).toEqual([]);
  });

  it.each([
    { name: 'no process lives in the netns', setup: (link: string) => proc(200, `${link}x`, STAT_FILE) },
    { name: 'the stat file does not parse', setup: (link: string) => proc(200, link, 'entries\n') },
    {
      name: 'the stat file is missing',
      setup: (link: string) => {
        proc(200, link, STAT_FILE);
        unlinkSync(join(tmp, 'proc', '200', 'net', 'stat', 'nf_conntrack'));
      },
    },
  ])('runs conntrack -S and -C in the netns when $name', async ({ setup }) => {
    const lab = netns('lab');
    setup(lab.link);
    write(`netns-proc/${MAX_FILE}`, '1024\n');
    process.env.FAKE_NETNS_PROC = join(tmp, 'netns-proc');
    process.env.FAKE_NETNS_LIST = write('netns-list', 'lab\n');
    const { counters } = run({ netns: 'lab', procRoot: join(tmp, 'proc'), netnsRoot: lab.root });
    await waitFor(() => counters.length >= 1, 'a reading');
    expect(counters[0]).toEqual({ at: expect.any(Number), count: 1234, max: 1024, stats: SUMMED });
    expect(calls()).toEqual(
      expect.arrayContaining(['ip netns exec lab conntrack -S', 'ip netns exec lab conntrack -C']),
    );
  });

  it('reads nf_conntrack_max once per maxReuseMs, not at every poll', async () => {
    write('netns-proc/sys/net/netfilter/nf_conntrack_max', '1024\n');
    process.env.FAKE_NETNS_PROC = join(tmp, 'netns-proc');
    process.env.FAKE_NETNS_LIST = write('netns-list', 'lab\n');
    const { counters } = run({
      netns: 'lab',
      procRoot: join(tmp, 'proc'),
      netnsRoot: join(tmp, 'netns'),
      maxReuseMs: 1_000_000,
    });
    await waitFor(() => counters.length >= 3, 'three readings');
    expect(counters.map((c) => c.max)).toEqual(counters.map(() => 1024));
    expect(calls().filter((c) => c.endsWith('nf_conntrack_max'))).toHaveLength(1);
  });
});
