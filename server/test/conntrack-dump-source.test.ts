/** The `dump` source (DumpScheduler) against the fake conntrack in test/fake-bin. */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DumpScheduler,
  type DumpSchedulerOptions,
  listConntrack,
} from '../src/sources/conntrack-dump-source.js';
import type { SourceSink } from '../src/sources/source-types.js';
import { FAKE_BIN, fakeConntrackEnv, recordingSink } from './support/fake-conntrack.js';

const LIST_POLL = join(
  import.meta.dirname,
  '..',
  '..',
  'shared',
  'test',
  'fixtures',
  'seed-incident',
  'list-poll.txt',
);
const FULL_DUMP = 'conntrack -L -p udp -o extended,id';

/** The captured polls of list-poll.txt, one array of entry lines per `conntrack -L` run. */
function capturedPolls(): string[][] {
  return readFileSync(LIST_POLL, 'utf8')
    .split(/^--$/m)
    .map((block) => block.split('\n').filter((l) => l.startsWith('ipv4')))
    .filter((lines) => lines.length > 0);
}

let env: ReturnType<typeof fakeConntrackEnv>;
let savedEnv: NodeJS.ProcessEnv;
let stateDir: string;
let scheduler: DumpScheduler | undefined;

beforeEach(() => {
  env = fakeConntrackEnv('ctscope-dump-');
  savedEnv = env.saved;
  stateDir = env.stateDir;
});

afterEach(async () => {
  // The environment first: a stop that hangs must not leave the next tests a 10-minute fake dump.
  const s = scheduler;
  scheduler = undefined;
  env.restore();
  await s?.stop();
});

const waitFor = (cond: () => void, timeout = 4000) => vi.waitFor(cond, { timeout, interval: 10 });
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A scheduler on the fake tools, periodic dumps 60 s apart unless `opts` says otherwise (not started). */
function schedulerFor(sink: SourceSink, opts: Partial<DumpSchedulerOptions> = {}): DumpScheduler {
  return new DumpScheduler({ sink, node: {}, fullIntervalMs: 60_000, ...opts });
}

/**
 * A scheduler with a 3 s minimum gap and a 1.5 s quiet wait whose clock runs `clock.skew` ms ahead, moved by the
 * test to read the plan at a later time (the waits themselves use real timers).
 */
function skewedScheduler(sink: SourceSink, clock: { skew: number }): DumpScheduler {
  return schedulerFor(sink, {
    minResyncGapMs: 3000,
    resyncQuietMs: 1500,
    now: () => Date.now() + clock.skew,
  });
}

/** A {@link skewedScheduler} on the fake listing, started, once its first dump is in. */
async function startedSkewed(): Promise<{
  rec: ReturnType<typeof recordingSink>['rec'];
  clock: { skew: number };
  s: DumpScheduler;
}> {
  process.env.FAKE_CT_LIST = LIST_POLL;
  const { rec, sink } = recordingSink();
  const clock = { skew: 0 };
  scheduler = skewedScheduler(sink, clock);
  scheduler.start();
  await waitFor(() => expect(rec.dumps).toHaveLength(1));
  return { rec, clock, s: scheduler };
}

describe('DumpScheduler', () => {
  it('dumps the UDP table at start and hands over the entry lines without the stderr summary', async () => {
    process.env.FAKE_CT_LIST = LIST_POLL;
    const { rec, sink } = recordingSink();
    scheduler = schedulerFor(sink);
    scheduler.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    const polls = capturedPolls();
    expect(polls.map((p) => p.length)).toEqual([3, 8, 13, 16]);
    expect(rec.dumps[0]).toMatchObject({ scope: 'full', lines: polls.flat() });
    expect(env.calls()).toEqual([FULL_DUMP]);
    const stats = scheduler.stats();
    expect(stats).toMatchObject({ dumps: 1, lastEntries: 40, lastReason: 'start' });
    expect(stats.lastDurationMs).toBeGreaterThanOrEqual(0);
    expect(stats.nextInMs).toBeGreaterThan(50_000);
    expect(scheduler.supervisor.state).toMatchObject({ name: 'dump', state: 'running' });
  });

  it('once loss stops, the resync waits only the minimum gap, not the cost floor (convergence after a storm)', async () => {
    Object.assign(process.env, { FAKE_CT_LIST: LIST_POLL, FAKE_CT_LIST_DELAY: '0.5' });
    const { rec, sink } = recordingSink();
    scheduler = new DumpScheduler({
      sink,
      node: {},
      fullIntervalMs: 600_000,
      minResyncGapMs: 10,
      resyncCostFactor: 10,
      resyncQuietMs: 100,
    });
    scheduler.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(1), 10_000);
    // The floor while loss continues would be 10 × (≥ 500 ms): ≥ 5 s.
    expect(scheduler.stats().resyncGapMs).toBeGreaterThanOrEqual(5000);
    scheduler.requestResync('enobufs');
    // Quiet after 100 ms, then 10 ms gap and a 500 ms dump: done long before the 5 s floor.
    await waitFor(() => expect(rec.dumps).toHaveLength(2), 4000);
    expect(rec.dumps[1]!.at - rec.dumps[0]!.at).toBeLessThan(4000);
    expect(scheduler.stats().lastReason).toBe('enobufs');
  });

  it('spools the dump to a 0600 file in spoolDir, removed afterwards, with the same lines as a pipe', async () => {
    process.env.FAKE_CT_LIST = LIST_POLL;
    const spoolDir = join(stateDir, 'data');
    const { rec, sink } = recordingSink();
    scheduler = schedulerFor(sink, { spoolDir });
    scheduler.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    expect(rec.dumps[0]!.lines).toEqual(capturedPolls().flat());
    expect(statSync(spoolDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(spoolDir)).toEqual([]);
    // Every dump's spool file is private while conntrack writes it, not only the first one's.
    process.env.FAKE_CT_LIST_DELAY = '0.4';
    for (let i = 2; i <= 3; i++) {
      scheduler.requestResync(`loss-${i}`);
      const spool = join(spoolDir, '.conntrack-dump.tmp');
      await waitFor(() => expect(readdirSync(spoolDir)).toEqual(['.conntrack-dump.tmp']), 8000);
      expect(statSync(spool).mode & 0o777).toBe(0o600);
      await waitFor(() => expect(rec.dumps).toHaveLength(i), 8000);
    }
  });

  it('kills a dump that loses events while it runs, and dumps again once the loss is over (not twice in a row)', async () => {
    process.env.FAKE_CT_LIST = LIST_POLL;
    const { rec, sink } = recordingSink();
    const clock = { skew: 0 };
    scheduler = skewedScheduler(sink, clock);
    expect(scheduler.lastCompletedAt()).toBeUndefined();
    scheduler.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    const firstDone = scheduler.lastCompletedAt();
    expect(firstDone).toBeGreaterThan(0);
    // A dump that would take 10 minutes.
    process.env.FAKE_CT_LIST_DELAY = '600';
    scheduler.requestResync('enobufs');
    await waitFor(() => expect(scheduler?.stats().inFlight).toBe(true), 8000);
    // Loss while it runs: its table would be stale, so it is killed rather than awaited.
    scheduler.requestResync('enobufs');
    await waitFor(() => expect(scheduler?.stats().staleAborted).toBe(1), 5000);
    expect(rec.dumps).toHaveLength(1);
    // A killed dump read nothing to its end.
    expect(scheduler.lastCompletedAt()).toBe(firstDone);
    expect(scheduler.stats()).toMatchObject({
      inFlight: false,
      pendingResync: { reason: 'enobufs', requests: 2 },
    });
    // The owed dump runs once the loss is over, and loss during that one does not kill it.
    process.env.FAKE_CT_LIST_DELAY = '0.3';
    // Once the loss has been quiet it is due at once, not a minimum gap after the killed dump (never ingested).
    clock.skew += 1600;
    expect(scheduler.stats().nextInMs).toBe(0);
    await waitFor(() => expect(scheduler?.stats().inFlight).toBe(true), 5000);
    scheduler.requestResync('enobufs');
    await waitFor(() => expect(rec.dumps).toHaveLength(2), 5000);
    expect(scheduler.stats()).toMatchObject({ staleAborted: 1, lastReason: 'enobufs (+1 more)' });
    expect(scheduler.lastCompletedAt()).toBeGreaterThan(firstDone!);
  }, 20_000);

  it('after a kill, the dump that could not be killed and ran stale is followed at once when quiet, once a storm', async () => {
    const { rec, clock, s } = await startedSkewed();
    /** A dump that takes `seconds` starts (woken by a loss, or when due), then loss is reported while it runs. */
    const lossDuring = async (seconds: number, wake: boolean): Promise<void> => {
      process.env.FAKE_CT_LIST_DELAY = String(seconds);
      if (wake) s.requestResync('enobufs');
      await waitFor(() => expect(s.stats().inFlight).toBe(true), 8000);
      s.requestResync('enobufs');
    };
    const quiet = () => {
      clock.skew += 1600;
      return s.stats().nextInMs;
    };
    /** Round `n` of a storm: a dump killed as stale, then the next one runs to its end despite loss while it ran. */
    const round = async (n: number): Promise<number | undefined> => {
      await lossDuring(600, n === 1);
      await waitFor(() => expect(s.stats().staleAborted).toBe(n), 5000);
      expect(quiet()).toBe(0);
      await lossDuring(0.5, false);
      await waitFor(() => expect(rec.dumps).toHaveLength(n + 1), 5000);
      // When the dump owed for that loss is due once the loss is quiet.
      return quiet();
    };
    // Its table is stale too: the owed dump is due at once, not a minimum gap after it.
    expect(await round(1)).toBe(0);
    // The same again in the same storm: this time the minimum gap holds (about 1.4 s of it is left).
    expect(await round(2)).toBeGreaterThan(0);
  }, 30_000);

  it('takes a loss dated the millisecond the last dump ended as after it: the minimum gap holds', async () => {
    const { clock, s } = await startedSkewed();
    s.requestResync('enobufs', s.lastCompletedAt());
    clock.skew += 1600;
    // Quiet by now, but the 3 s gap after that dump is not over.
    expect(s.stats().nextInMs).toBeGreaterThan(0);
  });

  it.each([
    { name: 'reported late (dated before the dump started)', lossAgeMs: 5000, killed: 0 },
    { name: 'reported as it happens', lossAgeMs: 0, killed: 1 },
  ])(
    'dates a loss by when it happened: one $name',
    async ({ lossAgeMs, killed }) => {
      const { rec, clock, s } = await startedSkewed();
      process.env.FAKE_CT_LIST_DELAY = '1';
      clock.skew += 10_000;
      s.requestResync('enobufs');
      await waitFor(() => expect(s.stats().inFlight).toBe(true), 5000);
      // A busy main thread takes the tail's loss reports late: one from before this dump started cannot make its
      // table stale.
      s.requestResync('enobufs', Date.now() + clock.skew - lossAgeMs);
      if (killed) await waitFor(() => expect(s.stats().staleAborted).toBe(1), 5000);
      else await waitFor(() => expect(rec.dumps).toHaveLength(2), 5000);
      expect(s.stats().staleAborted).toBe(killed);
      // A late report is covered by the dump that started after the loss: no further dump is owed for it.
      expect(s.stats().pendingResync === undefined).toBe(!killed);
      if (!killed) {
        s.requestResync('enobufs', Date.now() + clock.skew - lossAgeMs);
        expect(s.stats().pendingResync).toBeUndefined();
      }
    },
    20_000,
  );

  it('falls back to a pipe when the spool directory cannot be created', async () => {
    process.env.FAKE_CT_LIST = LIST_POLL;
    const blocker = join(stateDir, 'not-a-dir');
    writeFileSync(blocker, '');
    const { rec, sink } = recordingSink();
    scheduler = schedulerFor(sink, { spoolDir: join(blocker, 'x') });
    scheduler.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    expect(rec.dumps[0]!.lines).toHaveLength(40);
  });

  it('says when a full dump covers every entry soon: in flight, or owed within the window, and never when stopped', async () => {
    Object.assign(process.env, { FAKE_CT_LIST: LIST_POLL, FAKE_CT_LIST_DELAY: '0.3' });
    const { rec, sink } = recordingSink();
    scheduler = schedulerFor(sink, { minResyncGapMs: 3000, resyncQuietMs: 10 });
    expect(scheduler.covering(2000)).toBeUndefined();
    scheduler.start();
    await waitFor(() => expect(scheduler!.stats().inFlight).toBe(true));
    expect(scheduler.covering(0)).toBe('running');
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    expect(scheduler.covering(2000)).toBeUndefined();
    // Owed after loss: due at the 3 s minimum gap, so it covers a window that reaches it, not a shorter one.
    scheduler.requestResync('enobufs');
    await delay(20);
    expect(scheduler.covering(1000)).toBeUndefined();
    expect(scheduler.covering(5000)).toBe('due');
    await scheduler.stop();
    expect(scheduler.covering(5000)).toBeUndefined();
  });

  it('coalesces 10 rapid resync requests into one extra dump, after the minimum gap', async () => {
    const dir = join(stateDir, 'list');
    mkdirSync(dir);
    capturedPolls().forEach((lines, i) => {
      writeFileSync(join(dir, `${i}.txt`), `${lines.join('\n')}\n`);
    });
    Object.assign(process.env, { FAKE_CT_LIST: dir, FAKE_CT_LIST_DELAY: '0.15' });
    const { rec, sink } = recordingSink();
    scheduler = schedulerFor(sink, { minResyncGapMs: 100 });
    scheduler.start();
    // All ten arrive while the start dump is in flight.
    for (let i = 0; i < 10; i++) scheduler.requestResync(`loss-${i}`);
    // Owed while the start dump runs: the table may be stale until the resync dump.
    expect(scheduler.stats()).toMatchObject({
      inFlight: true,
      pendingResync: { reason: 'loss-0', requests: 10 },
    });
    await waitFor(() => expect(rec.dumps).toHaveLength(2));
    await delay(250);
    expect(rec.dumps).toHaveLength(2);
    expect(env.calls()).toEqual([FULL_DUMP, FULL_DUMP]);
    expect(rec.dumps.map((d) => d.lines.length)).toEqual([3, 8]);
    // Gap ≥ minResyncGapMs, plus the 150 ms the second dump itself took.
    expect(rec.dumps[1]!.at - rec.dumps[0]!.at).toBeGreaterThanOrEqual(240);
    expect(scheduler.stats().lastReason).toBe('loss-0 (+9 more)');
    expect(scheduler.stats().pendingResync).toBeUndefined();

    // Ten more while idle: again exactly one dump.
    for (let i = 0; i < 10; i++) scheduler.requestResync('enobufs');
    await waitFor(() => expect(rec.dumps).toHaveLength(3));
    await delay(250);
    expect(rec.dumps).toHaveLength(3);
    expect(rec.dumps[2]!.lines).toHaveLength(13);
    expect(scheduler.stats().dumps).toBe(3);
  });

  it('backs off resyncs in a loss storm, with a floor tied to the cost of a dump', async () => {
    Object.assign(process.env, { FAKE_CT_LIST: LIST_POLL, FAKE_CT_LIST_DELAY: '0.05' });
    // Ingest costs 40 ms of main-thread time on top of the ≥ 50 ms dump: the floor is 3 × ≥ 90 ms.
    const { rec, sink } = recordingSink(() => {
      const until = Date.now() + 40;
      while (Date.now() < until) {}
    });
    scheduler = schedulerFor(sink, { minResyncGapMs: 10, resyncCostFactor: 3, maxResyncGapMs: 2000 });
    scheduler.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    const s1 = scheduler.stats();
    expect(s1.lastIngestMs).toBeGreaterThanOrEqual(39);
    expect(s1.resyncGapMs).toBe(3 * (s1.lastDurationMs! + s1.lastIngestMs!));
    // Loss keeps coming: a request every 20 ms for 2.5 s.
    const storm = setInterval(() => scheduler?.requestResync('enobufs'), 20);
    await delay(2500);
    clearInterval(storm);
    const ends = rec.dumps.map((d) => d.at);
    const gaps = ends.slice(1).map((t, i) => t - ends[i]!);
    // About 125 requests (fewer on a busy machine), but only a handful of dumps, spaced ever wider.
    expect(rec.dumps.length).toBeGreaterThanOrEqual(3);
    expect(rec.dumps.length).toBeLessThanOrEqual(7);
    expect(scheduler.stats().coalesced).toBeGreaterThan(60);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(3 * 90);
    // The storm has doubled the gap at least once beyond the floor.
    const s2 = scheduler.stats();
    expect(s2.resyncGapMs).toBeGreaterThanOrEqual(2 * 3 * (s2.lastDurationMs! + s2.lastIngestMs!));
    // After a quiet spell the next resync waits only the floor again.
    await waitFor(() => expect(scheduler?.stats().nextInMs).toBeGreaterThan(30_000), 6000);
    await delay(scheduler.stats().resyncGapMs + 200);
    scheduler.requestResync('enobufs');
    const before = rec.dumps.length;
    await waitFor(() => expect(rec.dumps.length).toBe(before + 1));
    expect(scheduler.stats().resyncGapMs).toBeLessThan(1000);
  }, 15_000);

  it('plans the next dump 100 × the last dump duration out when that beats fullIntervalMs', async () => {
    // A dump of at least 50 ms puts the adaptive term (≥ 5 s) far above fullIntervalMs.
    Object.assign(process.env, { FAKE_CT_LIST: LIST_POLL, FAKE_CT_LIST_DELAY: '0.05' });
    const { rec, sink } = recordingSink();
    scheduler = new DumpScheduler({ sink, node: {}, fullIntervalMs: 20 });
    scheduler.start();
    await waitFor(() => expect(scheduler?.stats().nextInMs).toBeDefined());
    const { nextInMs, lastDurationMs } = scheduler.stats();
    expect(lastDurationMs).toBeGreaterThanOrEqual(50);
    expect(nextInMs).toBeLessThanOrEqual(100 * lastDurationMs!);
    expect(nextInMs).toBeGreaterThan(100 * lastDurationMs! - 500);
    expect(rec.dumps).toHaveLength(1);
  });

  it('repeats every max(fullIntervalMs, lastDurationMs / maxCpuShare)', async () => {
    process.env.FAKE_CT_LIST = LIST_POLL;
    const durations: number[] = [];
    const { rec, sink } = recordingSink(() => durations.push(scheduler!.stats().lastDurationMs!));
    // fullIntervalMs is tiny, so only the adaptive term (10 × duration here) can space the dumps out.
    scheduler = new DumpScheduler({ sink, node: {}, fullIntervalMs: 5, maxCpuShare: 0.1 });
    scheduler.start();
    // Generous: on a loaded machine the fake's dumps take longer, and so do the gaps (10 × each).
    await waitFor(() => expect(rec.dumps.length).toBeGreaterThanOrEqual(3), 15_000);
    await scheduler.stop();
    expect(durations.every((d) => d >= 1)).toBe(true);
    for (let i = 0; i + 1 < rec.dumps.length; i++) {
      expect(rec.dumps[i + 1]!.at - rec.dumps[i]!.at).toBeGreaterThanOrEqual(10 * durations[i]!);
    }
    expect(rec.dumps.every((d) => d.scope === 'full')).toBe(true);
    expect(scheduler.stats().lastReason).toBe('periodic');
  });

  it('waits fullIntervalMs when that is the longer term', async () => {
    process.env.FAKE_CT_LIST = LIST_POLL;
    const { rec, sink } = recordingSink();
    scheduler = new DumpScheduler({ sink, node: {}, fullIntervalMs: 30_000 });
    scheduler.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    await delay(300);
    expect(rec.dumps).toHaveLength(1);
    expect(scheduler.stats().nextInMs).toBeGreaterThan(29_000);
  });

  it('keeps a failed dump pending and retries it after the backoff', async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), 'ctscope-nopath-'));
    process.env.PATH = emptyDir;
    process.env.FAKE_CT_LIST = LIST_POLL;
    const { rec, sink } = recordingSink();
    scheduler = schedulerFor(sink, { minBackoffMs: 30, maxBackoffMs: 60 });
    scheduler.start();
    await waitFor(() => expect(scheduler?.supervisor.state.state).toBe('failed'));
    expect(scheduler.supervisor.state.lastError).toBe(`${FULL_DUMP}: conntrack: command not found`);
    expect(rec.dumps).toEqual([]);
    process.env.PATH = `${FAKE_BIN}:${savedEnv.PATH}`;
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    expect(rec.dumps[0]!.lines).toHaveLength(40);
    expect(scheduler.stats().lastReason).toBe('start');
    rmSync(emptyDir, { recursive: true, force: true });
  });

  it('kills a dump in flight on stop and reports nothing', async () => {
    // The fake dump would take 10 minutes: stop() returns at all only if it kills it.
    Object.assign(process.env, { FAKE_CT_LIST: LIST_POLL, FAKE_CT_LIST_DELAY: '600' });
    const { rec, sink } = recordingSink();
    scheduler = schedulerFor(sink);
    scheduler.start();
    await waitFor(() => expect(env.calls()).toEqual([FULL_DUMP]));
    const outcome = await Promise.race([
      scheduler.stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('still waiting for the dump'), 15_000)),
    ]);
    expect(outcome).toBe('stopped');
    expect(rec.dumps).toEqual([]);
    expect(scheduler.supervisor.state.state).toBe('stopped');
  }, 20_000);

  it('dumps again when started after a stop', async () => {
    process.env.FAKE_CT_LIST = LIST_POLL;
    const { rec, sink } = recordingSink();
    scheduler = schedulerFor(sink, { minResyncGapMs: 10 });
    scheduler.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    await scheduler.stop();
    scheduler.supervisor.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(2));
    expect(scheduler.stats().lastReason).toBe('restart');
  });

  it('runs inside the namespace when one is set', async () => {
    Object.assign(process.env, { FAKE_CT_LIST: LIST_POLL, FAKE_NETNS: 'ns1' });
    const { rec, sink } = recordingSink();
    scheduler = new DumpScheduler({ sink, node: { netns: 'ns1' }, fullIntervalMs: 60_000 });
    scheduler.start();
    await waitFor(() => expect(rec.dumps).toHaveLength(1));
    expect(env.calls()).toEqual([`ip netns exec ns1 ${FULL_DUMP}`, FULL_DUMP]);
  });
});

describe('listConntrack', () => {
  it('treats "exit 1 with 0 flow entries" as an empty listing, but other failures as errors', async () => {
    process.env.FAKE_CT_LIST_EMPTY_EXIT = '1';
    await expect(listConntrack(['-L', '-p', 'udp'], {})).resolves.toMatchObject({ lines: [] });
    process.env.FAKE_CT_LIST_EMPTY_EXIT = '2';
    await expect(listConntrack(['-L', '-p', 'udp'], {})).rejects.toThrow(/0 flow entries/);
  });
});

describe('dumps handed over in chunks', () => {
  /** A listing of `n` entries, ~200 bytes each: 3,000 make ~600 KB, more than two read-back chunks. */
  function bigListing(n: number): { file: string; lines: string[] } {
    const lines = Array.from(
      { length: n },
      (_, i) =>
        `ipv4     2 udp      17 ${i % 30} src=10.42.${(i >> 8) & 255}.${i & 255} dst=10.43.0.10 sport=${1024 + i} dport=53 [UNREPLIED] src=10.43.0.10 dst=10.42.0.33 sport=53 dport=${1024 + i} mark=0 use=1 id=${i + 1}`,
    );
    const file = join(stateDir, `listing-${n}.txt`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return { file, lines };
  }

  /** Bytes of the first `n` lines of `file`, newlines included. */
  function lineBytes(file: string, n: number): number {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(0, n)
      .reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
  }

  it('reads a spooled listing in chunks while conntrack writes it, one at a time, with the same lines as whole', async () => {
    const { file, lines } = bigListing(3000);
    process.env.FAKE_CT_LIST = file;
    const whole = await listConntrack(['-L', '-p', 'udp'], {}, { spoolFile: join(stateDir, 'a.tmp') });
    expect(whole.lines).toEqual(lines);
    const chunks: string[][] = [];
    let running = 0;
    let overlapped = false;
    const streamed = await listConntrack(
      ['-L', '-p', 'udp'],
      {},
      {
        spoolFile: join(stateDir, 'b.tmp'),
        onLines: async (chunk) => {
          if (running > 0) overlapped = true;
          running++;
          chunks.push(chunk);
          await delay(5);
          running--;
        },
      },
    );
    expect(streamed.lines).toEqual([]);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flat()).toEqual(lines);
    // Each chunk waited for the one before: a slow receiver holds the read-back, not the whole dump in memory.
    expect(overlapped).toBe(false);
  });

  it('hands lines over while conntrack is still writing the spool file', async () => {
    const { file, lines } = bigListing(3000);
    // The fake stops halfway until the reader has taken lines (at most ~4 s): a loaded machine cannot make the
    // reader late, and a reader that waits for the end gets everything only after the listing ended.
    const gotSome = join(stateDir, 'reader.got');
    Object.assign(process.env, {
      FAKE_CT_LIST: file,
      FAKE_CT_LIST_PAUSE_AT: '1500',
      FAKE_CT_LIST_PAUSE_UNTIL: gotSome,
    });
    const done = join(stateDir, 'list.done');
    const got: string[] = [];
    let atRelease: number | undefined;
    let endedAtRelease: boolean | undefined;
    await listConntrack(
      ['-L', '-p', 'udp'],
      {},
      {
        spoolFile: join(stateDir, 'c.tmp'),
        onLines: (chunk) => {
          got.push(...chunk);
          // Released only once the first half is in, so the fake always stops there until then.
          if (atRelease === undefined && got.length >= 1500) {
            atRelease = got.length;
            endedAtRelease = existsSync(done);
            writeFileSync(gotSome, '');
          }
        },
      },
    );
    expect(got).toEqual(lines);
    // Exactly the lines written before the pause were handed over while conntrack was stopped there.
    expect(atRelease).toBe(1500);
    expect(endedAtRelease).toBe(false);
  }, 20_000);

  it('takes no more of a cancelled listing, not even what the spool already holds, and rejects', async () => {
    const { file } = bigListing(3000);
    process.env.FAKE_CT_LIST = file;
    // Writes 2500 lines, then hangs: they are all in the spool when the first chunk is handed over.
    process.env.FAKE_CT_LIST_PAUSE_AT = '2500';
    process.env.FAKE_CT_LIST_PAUSE = '600';
    const cancel = new AbortController();
    let got = 0;
    let atCancel: number | undefined;
    await expect(
      listConntrack(
        ['-L', '-p', 'udp'],
        {},
        {
          spoolFile: join(stateDir, 'f.tmp'),
          signal: cancel.signal,
          onLines: async (chunk) => {
            got += chunk.length;
            if (atCancel === undefined) {
              // Cancel once the spool holds everything the fake writes before it hangs.
              await waitFor(
                () => expect(statSync(join(stateDir, 'f.tmp')).size).toBe(lineBytes(file, 2500)),
                8000,
              );
              atCancel = got;
              cancel.abort();
            }
          },
        },
      ),
    ).rejects.toThrow();
    expect(atCancel).toBeGreaterThan(0);
    expect(atCancel).toBeLessThan(2500);
    expect(got).toBe(atCancel);
  }, 20_000);

  it('ends the dump when taking its lines fails, rather than leaving it running', async () => {
    const { file } = bigListing(10);
    process.env.FAKE_CT_LIST = file;
    // Hangs for 10 minutes after 5 lines: only a kill ends it within the test's time.
    process.env.FAKE_CT_LIST_PAUSE_AT = '5';
    process.env.FAKE_CT_LIST_PAUSE = '600';
    await expect(
      listConntrack(
        ['-L', '-p', 'udp'],
        {},
        {
          spoolFile: join(stateDir, 'e.tmp'),
          onLines: () => {
            throw new Error('sink failed');
          },
        },
      ),
    ).rejects.toThrow('sink failed');
  });

  it('drops the unfinished last line of a dump that was killed', async () => {
    const { file, lines } = bigListing(10);
    process.env.FAKE_CT_LIST = file;
    // Half a line that still parses as a flow (everything up to the reply tuple).
    process.env.FAKE_CT_LIST_TORN = lines[0]!.slice(0, lines[0]!.indexOf(' mark='));
    const got: string[] = [];
    await expect(
      listConntrack(
        ['-L', '-p', 'udp'],
        {},
        { spoolFile: join(stateDir, 'd.tmp'), timeoutMs: 1000, onLines: (chunk) => void got.push(...chunk) },
      ),
    ).rejects.toThrow();
    expect(got).toEqual(lines);
  });

  it('a sink that takes chunks gets the full dump through onDumpLines then onDumpEnd, never onDump', async () => {
    const { file } = bigListing(3000);
    process.env.FAKE_CT_LIST = file;
    const { rec, sink } = recordingSink();
    const chunks: Array<{ scope: string; n: number; at: number; startedAt: number }> = [];
    const ends: Array<{ scope: string; at: number; startedAt: number }> = [];
    const chunked: SourceSink = {
      ...sink,
      onDumpLines: (scope, lines, at, startedAt) => {
        chunks.push({ scope, n: lines.length, at, startedAt });
      },
      onDumpEnd: (scope, at, startedAt) => {
        ends.push({ scope, at, startedAt });
      },
    };
    scheduler = schedulerFor(chunked, { spoolDir: join(stateDir, 'data') });
    scheduler.start();
    await waitFor(() => expect(ends).toHaveLength(1));
    expect(rec.dumps).toEqual([]);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.reduce((s, c) => s + c.n, 0)).toBe(3000);
    // Every chunk of one run carries the run's start, and its own time between that and the run's end.
    const { at, startedAt } = ends[0]!;
    for (const c of chunks) expect(c).toMatchObject({ scope: 'full', startedAt });
    const times = chunks.map((c) => c.at);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(times[0]).toBeGreaterThanOrEqual(startedAt);
    expect(times.at(-1)).toBeLessThanOrEqual(at);
    expect(scheduler.stats()).toMatchObject({ dumps: 1, lastEntries: 3000 });
  });
});
