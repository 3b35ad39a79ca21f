/** The `events` source against the fake conntrack in test/fake-bin. */
import { spawn } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ConntrackEventsSource,
  createConntrackEventsSource,
} from '../src/sources/conntrack-events-source.js';
import type { Supervisor } from '../src/sources/supervisor.js';
import { fakeConntrackEnv, recordingSink } from './support/fake-conntrack.js';
import { openFds } from './support/open-fds.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'shared', 'test', 'fixtures');
const SEED_EVENTS = join(FIXTURES, 'seed-incident', 'events-ts-ext-id.txt');
const FLOOD = join(FIXTURES, 'flood-sample.txt');
const SUMMARY = /^conntrack v\S+ \(conntrack-tools\): \d+ flow events have been shown\.$/;
const ENOBUFS_WARNING = 'WARNING: We have hit ENOBUFS! We are losing events.';

/** Event lines of a capture: everything but the stderr summary that was captured with it. */
function eventLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !SUMMARY.test(l));
}

let env: ReturnType<typeof fakeConntrackEnv>;
let _savedEnv: NodeJS.ProcessEnv;
let stateDir: string;
let source: ConntrackEventsSource | undefined;

beforeEach(() => {
  env = fakeConntrackEnv('ctscope-events-');
  _savedEnv = env.saved;
  stateDir = env.stateDir;
});

afterEach(async () => {
  const s = source;
  source = undefined;
  const stopped = s
    ? await stopWithin(s, 3000).then(
        () => true,
        () => false,
      )
    : true;
  // Never leak a fake tail, even when the test failed because stop() did not kill it.
  const pid = readPid();
  if (pid && isFakeTail(pid)) process.kill(pid, 'SIGKILL');
  expect(stopped).toBe(true);
  env.restore();
});

function readPid(): number | undefined {
  try {
    return Number(readFileSync(join(stateDir, 'events.pid'), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

function childPid(): number {
  const pid = readPid();
  if (pid === undefined) throw new Error('the fake conntrack wrote no pid');
  return pid;
}

/**
 * Whether `pid` is still a fake conntrack. Not just alive: pids wrap (32768 here), and one the fake had may belong
 * to another process by now (SIGKILLing it killed a test runner's worker).
 */
function isFakeTail(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fake-bin/conntrack');
  } catch {
    return false;
  }
}

/** The descriptor of the tail worker's named pipe (its path is removed once both ends are open). */
function namedPipeFd(): number | undefined {
  return openFds((target) => /\/ctscope-tail-[^/]+\/events/.test(target))[0];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const waitFor = (cond: () => void, timeout = 10_000) => vi.waitFor(cond, { timeout, interval: 10 });

/** Stop, but fail fast instead of hanging if the child is never killed. */
function stopWithin(s: Supervisor, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stop() took more than ${ms} ms`)), ms);
    s.stop().then(() => {
      clearTimeout(timer);
      resolve();
    }, reject);
  });
}

describe('createConntrackEventsSource', () => {
  it('delivers every seed-incident event line, in order, with the expected argv', async () => {
    const expected = eventLines(SEED_EVENTS);
    expect(expected).toHaveLength(48);
    process.env.FAKE_CT_EVENTS = SEED_EVENTS;
    const { rec, sink } = recordingSink();
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 4194304 });
    source.start();
    await waitFor(() => expect(rec.lines.length).toBeGreaterThanOrEqual(expected.length));
    await new Promise((r) => setTimeout(r, 50));
    expect(rec.lines).toEqual(expected);
    expect(rec.ats.every((t, i) => i === 0 || t >= rec.ats[i - 1]!)).toBe(true);
    expect(rec.losses).toEqual([]);
    expect(env.calls()).toEqual(['conntrack -E -p udp -o timestamp,extended,id -b 4194304']);
    // The `-b` NOTICE and the exit summary are not errors.
    expect(source.state).toMatchObject({ name: 'events', state: 'running', restarts: 0 });
    expect(rec.states.every((s) => s.lastError === undefined)).toBe(true);
  });

  // The 3000 lines are ~590 KB, written at once: nine times what a pipe holds, so the polled named pipe must be
  // read again before the listener can finish.
  it.each([
    { pollNamedPipe: true, pipe: 'named' },
    { pollNamedPipe: false, pipe: 'anonymous' },
  ] as const)(
    'keeps up with the 3000-line flood sample without losing a line ($pipe pipe)',
    async ({ pollNamedPipe, pipe }) => {
      const expected = eventLines(FLOOD);
      expect(expected).toHaveLength(3000);
      process.env.FAKE_CT_EVENTS = FLOOD;
      const { rec, sink } = recordingSink();
      source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 1 << 20, pollNamedPipe });
      source.start();
      await waitFor(() => expect(rec.lines.length).toBe(expected.length), 8000);
      expect(rec.lines).toEqual(expected);
      await waitFor(() => expect(source?.priority()?.pipe).toBe(pipe));
    },
  );

  // A worker's fs.open descriptors are closed again when it exits, unless fs.close closed them; the named pipe's
  // read end is closed by its stream, so that second close hit whichever descriptor had its number by then (the
  // main thread's, and libuv aborted the process).
  it('closes the named pipe once: a descriptor that takes its number next outlives the tail worker', async () => {
    process.env.FAKE_CT_EVENTS = SEED_EVENTS;
    const { rec, sink } = recordingSink();
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 65536, pollNamedPipe: true });
    source.start();
    await waitFor(() => expect(rec.lines.length).toBe(48));
    const fifo = namedPipeFd();
    expect(fifo).toBeDefined();
    // Every free number below the pipe's is taken first, so the pipe's is the next one open() returns once it closes.
    const fillers: number[] = [];
    for (let fd = openSync('/dev/null', 'r'); ; fd = openSync('/dev/null', 'r')) {
      if (fd > fifo!) {
        closeSync(fd);
        break;
      }
      fillers.push(fd);
    }
    const stopping = source.stop();
    source = undefined;
    // Synchronously, so nothing of this thread opens a descriptor in between: take the number as soon as the pipe
    // gives it up, then hold it while the worker exits.
    let canary: number | undefined;
    let closedUnderUs = false;
    const deadline = performance.now() + 10_000;
    let heldUntil = Number.POSITIVE_INFINITY;
    while (performance.now() < Math.min(deadline, heldUntil)) {
      if (canary === undefined) {
        const fd = openSync('/dev/null', 'r');
        if (fd === fifo) {
          canary = fd;
          heldUntil = performance.now() + 500;
        } else if (fd < fifo!) fillers.push(fd);
        else closeSync(fd);
        continue;
      }
      try {
        fstatSync(canary);
        if (readlinkSync(`/proc/self/fd/${canary}`) !== '/dev/null') closedUnderUs = true;
      } catch {
        closedUnderUs = true;
      }
      if (closedUnderUs) break;
    }
    await stopping;
    await new Promise((r) => setTimeout(r, 100));
    if (canary !== undefined && !closedUnderUs) {
      try {
        fstatSync(canary);
      } catch {
        closedUnderUs = true;
      }
    }
    for (const fd of fillers) closeSync(fd);
    if (canary !== undefined && !closedUnderUs) closeSync(canary);
    expect(canary, 'the pipe was never closed, or its number went elsewhere first').toBe(fifo);
    expect(closedUnderUs, 'the descriptor that took the number of the pipe was closed under us').toBe(false);
  });

  it('hands a sink that takes chunks whole every line once, in order, and never line by line', async () => {
    const expected = eventLines(FLOOD);
    process.env.FAKE_CT_EVENTS = FLOOD;
    const { rec, sink } = recordingSink();
    const chunks: Array<{ lines: readonly string[]; at: number }> = [];
    sink.onEventLines = (lines, at) => chunks.push({ lines, at });
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 1 << 20 });
    source.start();
    await waitFor(() => expect(chunks.reduce((n, c) => n + c.lines.length, 0)).toBe(expected.length), 8000);
    expect(chunks.flatMap((c) => c.lines)).toEqual(expected);
    expect(chunks.every((c, i) => i === 0 || c.at >= chunks[i - 1]!.at)).toBe(true);
    expect(rec.lines).toEqual([]);
  });

  it.each([true, false])(
    'reassembles lines split across chunks (even inside UTF-8) and passes garbage through unparsed (named pipe: %s)',
    async (pollNamedPipe) => {
      const content = [
        '[1795689888.889204]\t    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=60357 dport=53 [UNREPLIED] src=172.20.112.199 dst=10.42.0.33 sport=53 dport=60357 id=2643185377',
        'complete garbage ###',
        '',
        'crlf line\r',
        'ünïcødé ✓✓✓✓✓✓✓ ✓✓✓',
        '[DESTROY] truncated',
        'no newline at the end',
      ].join('\n');
      const file = join(stateDir, 'split.txt');
      // The file ends inside a UTF-8 sequence (the first two bytes of ✓): the decoder's end makes it U+FFFD.
      writeFileSync(file, Buffer.concat([Buffer.from(content), Buffer.from([0xe2, 0x9c])]));
      Object.assign(process.env, {
        FAKE_CT_EVENTS: file,
        FAKE_CT_EVENTS_CHUNK: '7',
        FAKE_CT_EVENTS_DELAY: '0.002',
        FAKE_CT_EVENTS_AFTER: 'exit',
      });
      const { rec, sink } = recordingSink();
      source = createConntrackEventsSource({
        sink,
        node: {},
        bufferBytes: 65536,
        minBackoffMs: 60_000,
        pollNamedPipe,
      });
      source.start();
      await waitFor(() => expect(source?.state.state).toBe('failed'));
      expect(rec.lines).toEqual([
        content.split('\n')[0],
        'complete garbage ###',
        '',
        'crlf line',
        'ünïcødé ✓✓✓✓✓✓✓ ✓✓✓',
        '[DESTROY] truncated',
        'no newline at the end\uFFFD',
      ]);
      expect(source.state.lastError).toBe('conntrack -E exited with code 0');
    },
  );

  it('reports an ENOBUFS warning as event loss and keeps delivering lines', async () => {
    const expected = eventLines(SEED_EVENTS);
    Object.assign(process.env, {
      FAKE_CT_EVENTS: SEED_EVENTS,
      FAKE_CT_EVENTS_DELAY: '0.01',
      FAKE_CT_ENOBUFS_AT: '20',
    });
    const { rec, sink } = recordingSink();
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 65536 });
    source.start();
    await waitFor(() => expect(rec.lines.length).toBe(expected.length));
    expect(rec.lines).toEqual(expected);
    expect(rec.losses).toHaveLength(1);
    expect(rec.losses[0]).toMatchObject({ reason: 'enobufs', detail: ENOBUFS_WARNING });
    expect(rec.losses[0]!.linesSoFar).toBeLessThan(expected.length);
    // The hint lines after the warning are not errors, and the tail was not restarted.
    expect(source.state).toMatchObject({ state: 'running', restarts: 0 });
    expect(rec.states.every((s) => s.lastError === undefined)).toBe(true);
  });

  it('treats the old fatal ENOBUFS exit as loss, then restarts', async () => {
    Object.assign(process.env, {
      FAKE_CT_EVENTS: SEED_EVENTS,
      FAKE_CT_ENOBUFS_AT: '5',
      FAKE_CT_ENOBUFS_MODE: 'fatal',
    });
    const { rec, sink } = recordingSink();
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 65536, minBackoffMs: 30 });
    source.start();
    await waitFor(() => expect(rec.losses.map((l) => l.reason)).toContain('source-restart'));
    const fatal = 'conntrack v1.4.7 (conntrack-tools): Operation failed: No buffer space available';
    expect(rec.losses[0]).toMatchObject({ reason: 'enobufs', detail: fatal });
    expect(rec.states.find((s) => s.state === 'failed')?.lastError).toBe(
      `conntrack -E exited with code 1: ${fatal}`,
    );
    expect(rec.lines.slice(0, 5)).toEqual(eventLines(SEED_EVENTS).slice(0, 5));
  });

  it('restarts a crashed tail with growing backoff and marks each restart as event loss', async () => {
    const file = join(stateDir, 'four.txt');
    writeFileSync(file, `${eventLines(SEED_EVENTS).slice(0, 4).join('\n')}\n`);
    Object.assign(process.env, { FAKE_CT_EVENTS: file, FAKE_CT_EVENTS_AFTER: 'crash' });
    const { rec, sink } = recordingSink();
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 65536, minBackoffMs: 40 });
    source.start();
    await waitFor(() => expect(source?.state.restarts).toBeGreaterThanOrEqual(2));
    await waitFor(() =>
      expect(rec.states.filter((s) => s.state === 'failed').length).toBeGreaterThanOrEqual(3),
    );

    const crash =
      'conntrack -E exited with code 1: conntrack v1.4.7 (conntrack-tools): Operation failed: Bad file descriptor (fake crash)';
    const failed = rec.states.filter((s) => s.state === 'failed');
    expect(failed.every((s) => s.lastError === crash)).toBe(true);
    const restarts = rec.losses.filter((l) => l.reason === 'source-restart');
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    expect(restarts[0]!.detail).toBe(`restart 1: ${crash}`);
    // restarts counts up on each new attempt.
    const starting = rec.states.filter((s) => s.state === 'starting');
    expect(starting.slice(0, 3).map((s) => s.restarts)).toEqual([0, 1, 2]);
    // Backoff: ≥ 40 ms before the first restart, ≥ 80 ms before the second.
    const gap = (i: number) => starting[i + 1]!.since - failed[i]!.since;
    expect(gap(0)).toBeGreaterThanOrEqual(38);
    expect(gap(1)).toBeGreaterThanOrEqual(78);
    // Every attempt delivered the four lines.
    expect(rec.lines.slice(0, 8)).toEqual([
      ...eventLines(SEED_EVENTS).slice(0, 4),
      ...eventLines(SEED_EVENTS).slice(0, 4),
    ]);
  });

  it('fails clearly when conntrack is not installed, and keeps retrying without crashing', async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), 'ctscope-nopath-'));
    process.env.PATH = emptyDir;
    const { rec, sink } = recordingSink();
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 65536, minBackoffMs: 30 });
    source.start();
    await waitFor(() => expect(source?.state.restarts).toBeGreaterThanOrEqual(1));
    expect(rec.states.find((s) => s.state === 'failed')?.lastError).toBe('conntrack: command not found');
    await stopWithin(source, 5000);
    expect(source.state.state).toBe('stopped');
    rmSync(emptyDir, { recursive: true, force: true });
  });

  it('kills the child on stop, whether idle or mid-stream', async () => {
    process.env.FAKE_CT_EVENTS = SEED_EVENTS;
    const { rec, sink } = recordingSink();
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 65536 });
    source.start();
    await waitFor(() => expect(rec.lines.length).toBe(48));
    const pid = childPid();
    expect(isAlive(pid)).toBe(true);
    await stopWithin(source, 5000);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(source.state.state).toBe('stopped');

    // Mid-stream (the fake is pacing lines): stop must not wait for the stream to end.
    rmSync(join(stateDir, 'events.pid'));
    process.env.FAKE_CT_EVENTS_DELAY = '0.2';
    const second = recordingSink();
    source = createConntrackEventsSource({ sink: second.sink, node: {}, bufferBytes: 65536 });
    source.start();
    await waitFor(() => expect(second.rec.lines.length).toBeGreaterThanOrEqual(1));
    const pid2 = childPid();
    await stopWithin(source, 5000);
    expect(() => process.kill(pid2, 0)).toThrow();
    expect(second.rec.lines.length).toBeLessThan(48);
  });

  it.each([
    { fifo: false, ip: 'ip netns exec ct-test conntrack -E -p udp -o timestamp,extended,id -b 65536' },
    {
      fifo: true,
      ip: 'ip netns exec ct-test chrt -f 10 conntrack -E -p udp -o timestamp,extended,id -b 65536',
    },
  ])(
    'wraps the command in `ip netns exec NAME` when a namespace is set (fifo: $fifo)',
    async ({ fifo, ip }) => {
      Object.assign(process.env, { FAKE_CT_EVENTS: SEED_EVENTS, FAKE_NETNS: 'ct-test other' });
      const { rec, sink } = recordingSink();
      source = createConntrackEventsSource({
        sink,
        node: { netns: 'ct-test' },
        bufferBytes: 65536,
        canUseFifo: async () => fifo,
      });
      source.start();
      await waitFor(() => expect(rec.lines.length).toBe(48));
      expect(env.calls()).toEqual([ip, 'conntrack -E -p udp -o timestamp,extended,id -b 65536']);
      // `ip netns exec` execs conntrack, so stopping kills the real tail.
      const pid = childPid();
      await stopWithin(source, 5000);
      expect(() => process.kill(pid, 0)).toThrow();
    },
  );

  it('reports a missing namespace through the failed state', async () => {
    Object.assign(process.env, { FAKE_CT_EVENTS: SEED_EVENTS, FAKE_NETNS: 'ct-test' });
    const { rec, sink } = recordingSink();
    source = createConntrackEventsSource({
      sink,
      node: { netns: 'nope' },
      bufferBytes: 65536,
      minBackoffMs: 60_000,
    });
    source.start();
    await waitFor(() => expect(source?.state.state).toBe('failed'));
    expect(source.state.lastError).toBe(
      'conntrack -E exited with code 255: Cannot open network namespace "nope": No such file or directory',
    );
    expect(rec.lines).toEqual([]);
  });

  // Field 19 of /proc/PID/stat is the nice level, field 41 the scheduling policy (1 = SCHED_FIFO).
  function schedOf(pid: number): { nice: number; policy: number } {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { nice: Number(f[16]), policy: Number(f[38]) };
  }
  const root = process.getuid?.() === 0;

  it.skipIf(!root)('runs the listener under SCHED_FIFO when allowed, and says so in its state', async () => {
    process.env.FAKE_CT_EVENTS = SEED_EVENTS;
    const { rec, sink } = recordingSink();
    const events = createConntrackEventsSource({
      sink,
      node: {},
      bufferBytes: 65536,
      canUseFifo: async () => true,
    });
    source = events;
    events.start();
    await waitFor(() => expect(rec.lines.length).toBe(48));
    expect(schedOf(childPid()).policy).toBe(1);
    await waitFor(() => expect(events.priority()).toBeDefined());
    expect(events.priority()).toEqual({
      mode: 'fifo',
      level: 10,
      text: 'SCHED_FIFO 10 (chrt -f 10)',
      reader: 'SCHED_FIFO 10',
      pipe: 'named',
    });
    expect(rec.states.at(-1)?.priority?.mode).toBe('fifo');
  });

  it.skipIf(!root)('falls back to the best nice level when SCHED_FIFO is not allowed', async () => {
    process.env.FAKE_CT_EVENTS = SEED_EVENTS;
    const { rec, sink } = recordingSink();
    const events = createConntrackEventsSource({
      sink,
      node: {},
      bufferBytes: 65536,
      canUseFifo: async () => false,
    });
    source = events;
    events.start();
    await waitFor(() => expect(rec.lines.length).toBe(48));
    expect(schedOf(childPid())).toEqual({ nice: -20, policy: 0 });
    await waitFor(() => expect(events.priority()).toBeDefined());
    expect(events.priority()).toMatchObject({
      mode: 'nice',
      level: -20,
      reader: 'nice -20',
      pipe: 'named',
    });
    expect(env.calls()).toEqual(['conntrack -E -p udp -o timestamp,extended,id -b 65536']);
  });

  it('keeps reading while the main thread is stalled, and drops and reports what exceeds the backlog', async () => {
    process.env.FAKE_CT_EVENTS = FLOOD;
    const { rec, sink } = recordingSink();
    const record = sink.onEventLine;
    let stalled = false;
    sink.onEventLine = (line, at) => {
      if (!stalled) {
        // A long synchronous stall (as a huge dump or sync would cause): the worker must go on reading.
        stalled = true;
        const until = Date.now() + 1500;
        while (Date.now() < until) {}
      }
      record(line, at);
    };
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 65536, maxBacklogChars: 20_000 });
    source.start();
    const dropped = () =>
      rec.losses.reduce((n, l) => n + Number(/^(\d+) event lines dropped/.exec(l.detail)?.[1] ?? 0), 0);
    await waitFor(() => expect(rec.lines.length + dropped()).toBe(3000), 8000);
    expect(rec.losses.length).toBeGreaterThan(0);
    expect(rec.losses.every((l) => l.reason === 'backlog')).toBe(true);
    expect(dropped()).toBeGreaterThan(0);
    // What arrived is unchanged and in order: the flood with holes exactly where the losses were reported.
    const expected = eventLines(FLOOD);
    let next = 0;
    let i = 0;
    for (const l of rec.losses) {
      expect(rec.lines.slice(i, l.linesSoFar)).toEqual(expected.slice(next, next + l.linesSoFar - i));
      next += l.linesSoFar - i + Number(/^(\d+)/.exec(l.detail)?.[1]);
      i = l.linesSoFar;
    }
    expect(rec.lines.slice(i)).toEqual(expected.slice(next));
    // The stall shows in the backlog's peak, never past its limit; once caught up, nothing is owed.
    const b = source.backlog();
    expect(b.limitChars).toBe(20_000);
    expect(b.peakChars).toBeGreaterThan(5000);
    expect(b.peakChars).toBeLessThanOrEqual(20_000);
    expect(b.chars).toBe(0);
  });

  it('fails the run (and so restarts the tail) when the sink throws', async () => {
    process.env.FAKE_CT_EVENTS = SEED_EVENTS;
    const { rec, sink } = recordingSink();
    sink.onEventLine = () => {
      throw new Error('consumer bug');
    };
    source = createConntrackEventsSource({ sink, node: {}, bufferBytes: 65536, minBackoffMs: 60_000 });
    source.start();
    await waitFor(() => expect(source?.state.state).toBe('failed'));
    expect(source.state.lastError).toBe('event sink threw: consumer bug');
    expect(rec.states.at(-1)?.state).toBe('failed');
  });
});

describe('a process that exits without stopping its tail', () => {
  it('takes its conntrack -E with it', async () => {
    // The fake tail writes nothing and waits: a real one on a quiet table would only notice its reader is gone
    // when it next wrote.
    const script = join(import.meta.dirname, 'support', 'exit-with-tail.mjs');
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [script], { env: process.env, stdio: 'ignore' });
      child.once('exit', resolve);
    });
    expect(code).toBe(0);
    const pid = childPid();
    try {
      await vi.waitFor(() => expect(isFakeTail(pid)).toBe(false), { timeout: 5000, interval: 50 });
    } finally {
      if (isFakeTail(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
