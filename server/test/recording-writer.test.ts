import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  type FlowRecord,
  RECORDING_FORMAT_VERSION,
  type RecGap,
  type RecordingRecord,
} from '@ctscope/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { type RecordingReadError, readRecording } from '../src/recording/recording-reader.js';
import { RecordingWriter, type RecordingWriterOptions } from '../src/recording/recording-writer.js';
import { SEGMENT_NAME_RE } from '../src/recording/segment-files.js';

const T0 = Date.UTC(2024, 4, 1, 2, 3, 4);
const dirs: string[] = [];
const writers: RecordingWriter[] = [];

afterEach(async () => {
  for (const w of writers.splice(0)) await w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ctscope-rec-'));
  dirs.push(d);
  return d;
}

/** A writer with a settable clock; closed after each test. */
function makeWriter(dir: string, opts: Partial<RecordingWriterOptions> = {}) {
  const clock = { t: T0 };
  const w = new RecordingWriter({
    dir,
    node: 'node-a',
    netns: 'lab',
    writer: 'ctscope/0.1.0',
    maxAgeMs: Number.POSITIVE_INFINITY,
    maxBytes: 1024 * 1024 * 1024,
    now: () => clock.t,
    ...opts,
  });
  writers.push(w);
  return { w, clock };
}

async function readAll(path: string): Promise<Array<RecordingRecord | RecordingReadError>> {
  const out: Array<RecordingRecord | RecordingReadError> = [];
  for await (const item of readRecording(path)) out.push(item);
  return out;
}

const segments = (dir: string) =>
  readdirSync(dir)
    .filter((n) => SEGMENT_NAME_RE.test(n))
    .sort();
const lineRec = (i: number, pad = 0): RecordingRecord => ({
  k: 'line',
  t: T0 + i,
  src: 'events',
  line: `[NEW] udp 17 30 src=10.42.0.33 dst=10.43.0.10 sport=${i} dport=53 ${'x'.repeat(pad)}`,
});
const linesOf = (items: Array<RecordingRecord | RecordingReadError>) =>
  items.flatMap((r) => ('k' in r && r.k === 'line' ? [r.line] : []));
const gaps = (items: Array<RecordingRecord | RecordingReadError>) =>
  items.filter((r): r is RecGap => 'k' in r && r.k === 'gap');

const flow: FlowRecord = {
  kind: 'flow',
  event: 'NEW',
  proto: 'udp',
  protonum: 17,
  timeout: 30,
  orig: { src: '10.42.0.33', dst: '10.43.0.10', sport: 52001, dport: 53 },
  reply: { src: '10.43.0.10', dst: '172.20.112.199', sport: 53, dport: 42285 },
  unreplied: true,
  assured: false,
};

const everyKind: Array<[string, RecordingRecord]> = [
  [
    'line/events',
    { k: 'line', t: T0 + 1, src: 'events', line: '[NEW] udp 17 30 src=1.1.1.1 "quoted" \\ ünï' },
  ],
  ['line/poll', { k: 'line', t: T0 + 2, src: 'poll', line: 'udp 17 29 src=10.42.0.33' }],
  ['dump', { k: 'dump', t: T0 + 3, phase: 'begin', scope: 'full' }],
  [
    'nat',
    {
      k: 'nat',
      t: T0 + 4,
      snapshot: {
        source: 'iptables',
        takenAt: T0,
        hash: '0123456789abcdef',
        warnings: [],
        frontends: [
          {
            key: 'udp|10.43.0.10|53',
            kind: 'cluster-ip',
            ip: '10.43.0.10',
            port: 53,
            proto: 'udp',
            service: 'kube-system/kube-dns:dns',
            endpoints: [{ ip: '10.42.0.5', port: 53 }],
          },
        ],
      },
    },
  ],
  ['counters', { k: 'counters', t: T0 + 5, count: 12, max: 262144, stats: { insert_failed: 3, drop: 1 } }],
  ['gap', { k: 'gap', t: T0 + 6, reason: 'enobufs', detail: 'We have hit ENOBUFS!' }],
  ['checkpoint', { k: 'checkpoint', t: T0 + 7, flows: [flow] }],
  ['header (foreign, passed through)', { k: 'header', t: T0 + 8, v: 1, node: 'other', writer: 'x' }],
];

describe('RecordingWriter', () => {
  it('starts a segment with a header then a server-start gap', async () => {
    const dir = join(tempDir(), 'nested', 'rec');
    const { w } = makeWriter(dir);
    await w.open();
    await w.flush();
    const names = segments(dir);
    expect(names).toEqual(['ctscope-20240501T020304Z-000000.ndjson']);
    expect(w.state()).toMatchObject({ segment: names[0], paused: false, dropped: 0, written: 2 });
    const items = await readAll(join(dir, names[0]!));
    expect(items).toEqual([
      {
        k: 'header',
        t: T0,
        v: RECORDING_FORMAT_VERSION,
        node: 'node-a',
        netns: 'lab',
        writer: 'ctscope/0.1.0',
      },
      { k: 'gap', t: T0, reason: 'server-start' },
    ]);
    expect(w.state().bytes).toBe(statSync(join(dir, names[0]!)).size);
  });

  it('continues the sequence after existing segments instead of overwriting them', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ctscope-20240501T020304Z-000007.ndjson'), '');
    const { w } = makeWriter(dir);
    await w.open();
    expect(w.state().segment).toBe('ctscope-20240501T020304Z-000008.ndjson');
  });

  it.each(everyKind)('roundtrips a %s record', async (_name, rec) => {
    const dir = tempDir();
    const { w } = makeWriter(dir);
    await w.open();
    w.append(rec);
    await w.close();
    const items = await readAll(dir);
    expect(items.map((r) => ('k' in r ? r.k : r.error))).toEqual(['header', 'gap', rec.k, 'gap']);
    expect(items[2]).toEqual(rec);
    expect(items[3]).toMatchObject({ k: 'gap', reason: 'server-stop' });
  });

  it('roundtrips every kind in one file, in append order', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir);
    await w.open();
    for (const [, rec] of everyKind) w.append(rec);
    await w.close();
    const items = await readAll(dir);
    expect(items.slice(2, -1)).toEqual(everyKind.map(([, r]) => r));
    expect(w.state()).toMatchObject({ written: everyKind.length + 3, dropped: 0 });
  });

  it('rotates by size into several segments, each with a header, and reads back in order', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir, { segmentBytes: 2000 });
    await w.open();
    for (let i = 0; i < 100; i++) w.append(lineRec(i, 50));
    await w.close();
    const names = segments(dir);
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const n of names) {
      const items = await readAll(join(dir, n));
      expect(items[0]).toMatchObject({ k: 'header', node: 'node-a' });
      // A segment ends at the limit to within one line plus its header.
      expect(statSync(join(dir, n)).size).toBeLessThanOrEqual(2000 + 200);
    }
    const all = await readAll(dir);
    expect(linesOf(all)).toEqual(
      Array.from({ length: 100 }, (_, i) => (lineRec(i, 50) as { line: string }).line),
    );
    expect(all.some((r) => 'error' in r)).toBe(false);
  });

  it.each([
    { name: 'plain, one segment', opts: {} },
    { name: 'plain, rotating by size inside the dump', opts: { segmentBytes: 3000 } },
    { name: 'gzip, rotating by size inside the dump', opts: { gzip: true, segmentBytes: 3000 } },
  ])('appendLines writes the same records as one append per line, in place ($name)', async ({ opts }) => {
    const dump = Array.from({ length: 300 }, (_, i) => `${(lineRec(i, 40) as { line: string }).line} "q\\"`);
    const write = async (lazy: boolean) => {
      const dir = tempDir();
      const { w } = makeWriter(dir, opts);
      await w.open();
      w.append(lineRec(-1));
      w.append({ k: 'dump', t: T0, phase: 'begin', scope: 'full' });
      if (lazy) w.appendLines(T0 + 5, 'dump', dump);
      else for (const line of dump) w.append({ k: 'line', t: T0 + 5, src: 'dump', line });
      w.append({ k: 'dump', t: T0 + 5, phase: 'end', scope: 'full' });
      w.append(lineRec(-2));
      await w.close();
      return { items: await readAll(dir), segments: segments(dir).length, written: w.state().written };
    };
    const [eager, lazy] = [await write(false), await write(true)];
    expect(lazy.items).toEqual(eager.items);
    expect(lazy.written).toBe(eager.written);
    expect(linesOf(lazy.items)).toEqual([
      (lineRec(-1) as { line: string }).line,
      ...dump,
      (lineRec(-2) as { line: string }).line,
    ]);
    expect(lazy.segments).toBe(eager.segments);
    // Plain segments rotate at the line that reaches the limit, so the dump itself spans several of them.
    if (opts.segmentBytes && !('gzip' in opts)) expect(lazy.segments).toBeGreaterThan(3);
    expect(lazy.items.some((r) => 'error' in r)).toBe(false);
  });

  it('appendLines over maxQueueBytes drops the whole dump and marks the hole', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir, { maxQueueBytes: 4000 });
    await w.open();
    w.appendLines(
      T0,
      'dump',
      Array.from({ length: 100 }, (_, i) => (lineRec(i, 40) as { line: string }).line),
    );
    expect(w.state().dropped).toBe(100);
    await w.flush();
    w.append(lineRec(1000));
    await w.close();
    const items = await readAll(dir);
    expect(linesOf(items)).toEqual([(lineRec(1000) as { line: string }).line]);
    expect(gaps(items).find((g) => g.reason === 'recording-resumed')).toMatchObject({ dropped: 100 });
  });

  it('roomFor waits until the queue is down to the size asked, and not at all when nothing drains', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir);
    const dump = (n: number) =>
      Array.from({ length: n }, (_, i) => (lineRec(i, 200) as { line: string }).line);
    // Not open yet: nothing would ever drain it, so waiting would hang the producer.
    w.appendLines(T0, 'dump', dump(100));
    await w.roomFor(0);
    expect(w.state().queuedBytes).toBeGreaterThan(0);
    await w.open();
    for (let i = 0; i < 20; i++) w.appendLines(T0, 'dump', dump(500));
    expect(w.state().queuedBytes).toBeGreaterThan(1_000_000);
    await w.roomFor(200_000);
    expect(w.state().queuedBytes).toBeLessThanOrEqual(200_000);
    await w.close();
    expect(linesOf(await readAll(dir))).toHaveLength(100 + 20 * 500);
  });

  it('roomFor does not hold a producer back while the writer is dropping records anyway', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir, { maxQueueBytes: 3 * 1024 * 1024 });
    await w.open();
    const dump = (n: number) =>
      Array.from({ length: n }, (_, i) => (lineRec(i, 200) as { line: string }).line);
    // More than one write batch (1 MiB), so the queue stays well above 100 bytes while the first is written.
    for (let i = 0; i < 4; i++) w.appendLines(T0, 'dump', dump(2000));
    // Over the limit: dropped, and a hole is open until the next record that fits.
    w.appendLines(T0, 'dump', dump(5000));
    expect(w.state().dropped).toBe(5000);
    await w.roomFor(100);
    expect(w.state().queuedBytes).toBeGreaterThan(100);
  });

  it('rotates by age of the segment', async () => {
    const dir = tempDir();
    const { w, clock } = makeWriter(dir, { segmentMs: 60_000 });
    await w.open();
    w.append(lineRec(1));
    await w.flush();
    clock.t += 61_000;
    w.append(lineRec(2));
    await w.close();
    expect(segments(dir)).toEqual([
      'ctscope-20240501T020304Z-000000.ndjson',
      'ctscope-20240501T020405Z-000001.ndjson',
    ]);
  });

  it('retention by size deletes the oldest segments and keeps a contiguous newest suffix', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir, { segmentBytes: 1000, maxBytes: 3000 });
    await w.open();
    const first = w.state().segment!;
    for (let i = 0; i < 200; i++) w.append(lineRec(i, 40));
    await w.flush();
    const names = segments(dir);
    expect(names).not.toContain(first);
    expect(names).toContain(w.state().segment);
    const onDisk = names.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(w.state().totalBytes).toBe(onDisk);
    expect(onDisk).toBeLessThanOrEqual(3000 + 1000 + 200);
    const got = linesOf(await readAll(dir));
    const want = Array.from({ length: 200 }, (_, i) => (lineRec(i, 40) as { line: string }).line);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(200);
    expect(got).toEqual(want.slice(200 - got.length));
  });

  it.each([
    ['maxBytes 1', { maxBytes: 1 }],
    ['maxAgeMs 0', { maxAgeMs: 0 }],
  ])('retention never deletes the current segment (%s)', async (_name, opts) => {
    const dir = tempDir();
    const { w, clock } = makeWriter(dir, { segmentBytes: 500, ...opts });
    await w.open();
    for (let i = 0; i < 20; i++) w.append(lineRec(i, 40));
    await w.flush();
    // Everything on disk is now "old" relative to the injected clock.
    clock.t = Date.now() + 86_400_000;
    w.append(lineRec(99, 400));
    await w.flush();
    const current = w.state().segment!;
    expect(segments(dir)).toEqual([current]);
    expect(linesOf(await readAll(dir))).toEqual([(lineRec(99, 400) as { line: string }).line]);
  });

  it('retention by age at open deletes segments whose last write is older than maxAgeMs', async () => {
    const dir = tempDir();
    const old = 'ctscope-20240401T000000Z-000000.ndjson';
    const recent = 'ctscope-20240430T000000Z-000001.ndjson';
    const foreign = 'notes.txt';
    for (const n of [old, recent, foreign])
      writeFileSync(join(dir, n), '{"k":"gap","t":1,"reason":"server-stop"}\n');
    const nowMs = Date.now();
    utimesSync(join(dir, old), new Date(nowMs - 3 * 3600_000), new Date(nowMs - 3 * 3600_000));
    utimesSync(join(dir, foreign), new Date(nowMs - 3 * 3600_000), new Date(nowMs - 3 * 3600_000));
    const { w } = makeWriter(dir, { maxAgeMs: 3600_000, now: () => nowMs });
    await w.open();
    expect(existsSync(join(dir, old))).toBe(false);
    expect(existsSync(join(dir, recent))).toBe(true);
    expect(existsSync(join(dir, foreign))).toBe(true);
    expect(existsSync(join(dir, w.state().segment!))).toBe(true);
  });

  it('never throws from append: before open, after close, unserialisable records', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir);
    expect(() => w.append(lineRec(0))).not.toThrow();
    await w.open();
    const circular = { k: 'line', t: 1, src: 'events', line: 'x' } as RecordingRecord & { self?: unknown };
    circular.self = circular;
    expect(() => w.append(circular)).not.toThrow();
    expect(w.state().dropped).toBe(1);
    await w.close();
    for (let i = 0; i < 5; i++) expect(() => w.append(lineRec(i))).not.toThrow();
    expect(w.state().dropped).toBe(6);
    await expect(w.close()).resolves.toBeUndefined();
    const items = await readAll(dir);
    expect(items.map((r) => ('k' in r ? r.k : 'error'))).toEqual(['header', 'gap', 'line', 'gap']);
  });

  it('close without open writes nothing and counts what was queued as dropped', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir);
    w.append(lineRec(0));
    w.append(lineRec(1));
    await w.close();
    expect(w.state()).toMatchObject({ dropped: 2, written: 0, paused: false });
    expect(segments(dir)).toEqual([]);
  });

  it('drops over maxQueueBytes and marks the hole with a paused/resumed gap pair', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir, { maxQueueBytes: 1000 });
    await w.open();
    for (let i = 0; i < 50; i++) w.append(lineRec(i, 20));
    const dropped = w.state().dropped;
    expect(dropped).toBeGreaterThan(0);
    expect(w.state().paused).toBe(false);
    await w.flush();
    w.append(lineRec(1000));
    await w.close();
    const items = await readAll(dir);
    const [paused, resumed] = gaps(items).filter((g) => g.reason.startsWith('recording-'));
    expect(paused).toMatchObject({ reason: 'recording-paused', detail: expect.stringMatching(/queue full/) });
    expect(resumed).toMatchObject({
      reason: 'recording-resumed',
      dropped,
      detail: `${dropped} records dropped`,
    });
    const lines = linesOf(items);
    expect(lines).toHaveLength(50 - dropped + 1);
    // The markers sit exactly between the last kept record and the first one after the hole.
    const kinds = items.map((r) => ('k' in r ? (r.k === 'gap' ? r.reason : r.k) : 'error'));
    expect(kinds.slice(-4)).toEqual(['recording-paused', 'recording-resumed', 'line', 'server-stop']);
  });

  it('writes a dump run begin once, tries it again while it is being dropped, and before an end', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir, { maxQueueBytes: 1000 });
    await w.open();
    for (let i = 0; i < 50; i++) w.append(lineRec(i, 20));
    const before = w.state().dropped;
    w.dumpBegin('full', T0 + 100); // dropped: the queue is full
    expect(w.state().dropped).toBe(before + 1);
    await w.flush();
    w.dumpBegin('full', T0 + 100); // owed: queued now
    w.dumpBegin('full', T0 + 100); // already queued
    w.dumpEnd('full', T0 + 200, T0 + 100);
    w.dumpEnd('poll', T0 + 300, T0 + 250); // no chunk before its end: its begin comes with it
    await w.flush();
    w.dumpBegin('full', T0 + 400); // a new run of the same scope
    await w.close();
    const dumps = (await readAll(dir)).flatMap((r) =>
      'k' in r && r.k === 'dump' ? [[r.phase, r.scope, r.t]] : [],
    );
    expect(dumps).toEqual([
      ['begin', 'full', T0 + 100],
      ['end', 'full', T0 + 200],
      ['begin', 'poll', T0 + 250],
      ['end', 'poll', T0 + 300],
      ['begin', 'full', T0 + 400],
    ]);
  });

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

  // `new segment`: rotating on every batch means a retry needs a fresh tmpfs page, so it must fail while full.
  // `same segment`: a retry may fit its small gap markers into the segment's last, partly used page.
  it.skipIf(!isRoot).each([
    { name: 'same segment', segmentMs: 3600_000, staysPaused: false },
    { name: 'new segment', segmentMs: 1, staysPaused: true },
  ])(
    'full disk on a real 256k tmpfs (needs root), $name: pauses on ENOSPC, drops, resumes with gap markers',
    async ({ segmentMs, staysPaused }) => {
      const dir = tempDir();
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
      try {
        const { w } = makeWriter(dir, { retryMs: 20, now: Date.now, segmentMs });
        await w.open();
        let appended = 0;
        while (!w.state().paused && appended < 5000) {
          for (let i = 0; i < 20; i++) w.append(lineRec(appended++, 1000));
          await w.flush();
        }
        const st = w.state();
        expect(st.paused).toBe(true);
        expect(st.reason).toMatch(/ENOSPC|no space/i);
        expect(st.dropped).toBeGreaterThan(0);
        for (let i = 0; i < 10; i++) expect(() => w.append(lineRec(appended++, 1000))).not.toThrow();
        expect(w.state().dropped).toBe(st.dropped + 10);
        // Cutting off the failed batch may have freed pages: fill them (synchronously, before any retry runs).
        const filler = join(dir, 'filler');
        expect(() => {
          for (;;) appendFileSync(filler, Buffer.alloc(1024));
        }).toThrow(/ENOSPC/);
        await new Promise((r) => setTimeout(r, 100));
        expect(w.state().dropped).toBe(st.dropped + 10);
        if (staysPaused) {
          expect(w.state()).toMatchObject({
            paused: true,
            reason: expect.stringMatching(/ENOSPC|no space/i),
          });
        }

        execFileSync('mount', ['-o', 'remount,size=4m', dir]);
        const deadline = Date.now() + 3000;
        while (w.state().paused && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(w.state().paused).toBe(false);
        const droppedTotal = w.state().dropped;
        w.append({ k: 'line', t: Date.now(), src: 'events', line: 'after resume' });
        await w.close();
        expect(w.state().dropped).toBe(droppedTotal);

        const items = await readAll(dir);
        // Partial writes were cut back: the file holds only whole records.
        expect(items.filter((r) => 'error' in r)).toEqual([]);
        const marks = gaps(items).filter((g) => g.reason.startsWith('recording-'));
        expect(marks.map((g) => g.reason)).toEqual(['recording-paused', 'recording-resumed']);
        expect(marks[0]!.detail).toMatch(/ENOSPC|no space/i);
        expect(marks[1]!.dropped).toBe(droppedTotal);
        expect(marks[1]!.t).toBeGreaterThanOrEqual(marks[0]!.t);
        for (const n of segments(dir))
          expect((await readAll(join(dir, n)))[0]).toMatchObject({ k: 'header' });
        const lines = linesOf(items);
        expect(lines.at(-1)).toBe('after resume');
        const kept = lines.length - 1;
        expect(kept + droppedTotal).toBe(appended);
        expect(lines.slice(0, kept)).toEqual(
          Array.from({ length: kept }, (_, i) => (lineRec(i, 1000) as { line: string }).line),
        );
      } finally {
        for (const w of writers.splice(0)) await w.close();
        execFileSync('umount', [dir]);
      }
    },
  );

  it('a segment a crash left with a half line is followed by a clean one', async () => {
    const dir = tempDir();
    const a = makeWriter(dir);
    await a.w.open();
    await a.w.close();
    appendFileSync(join(dir, a.w.state().segment!), '{"k":"line","t":1,');
    const b = makeWriter(dir);
    await b.w.open();
    await b.w.close();
    const items = await readAll(dir);
    expect(items.filter((r) => 'error' in r)).toHaveLength(1);
    expect(segments(dir)).toHaveLength(2);
  });
});

describe('RecordingWriter with gzip segments', () => {
  const gz = { gzip: true } as const;

  it('writes .ndjson.gz segments that gunzip to the same records, and counts the raw bytes', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir, gz);
    await w.open();
    for (const [, rec] of everyKind) w.append(rec);
    for (let i = 0; i < 2000; i++) w.append(lineRec(i));
    await w.close();
    const names = segments(dir);
    expect(names).toEqual(['ctscope-20240501T020304Z-000000.ndjson.gz']);
    const file = join(dir, names[0]!);
    const raw = gunzipSync(readFileSync(file)).toString();
    const items = await readAll(dir);
    expect(items.slice(2, 2 + everyKind.length)).toEqual(everyKind.map(([, r]) => r));
    expect(linesOf(items).slice(-2000)).toEqual(
      Array.from({ length: 2000 }, (_, i) => (lineRec(i) as { line: string }).line),
    );
    expect(items.at(-1)).toMatchObject({ k: 'gap', reason: 'server-stop' });
    const st = w.state();
    expect(st).toMatchObject({ gzip: true, rawBytes: Buffer.byteLength(raw), bytes: statSync(file).size });
    // Repetitive conntrack lines compress well: at least 5×.
    expect(st.rawBytes / st.bytes).toBeGreaterThan(5);
  });

  it('an open segment (no gzip trailer yet, as after a crash) reads up to the last flush', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir, gz);
    await w.open();
    for (let i = 0; i < 300; i++) w.append(lineRec(i));
    await w.flush();
    const items = await readAll(dir);
    expect(items.filter((r) => 'error' in r)).toEqual([]);
    expect(linesOf(items)).toHaveLength(300);
    // Not closed: a strict gunzip sees no end of stream.
    expect(() => gunzipSync(readFileSync(join(dir, segments(dir)[0]!)))).toThrow(/unexpected end/i);
  });

  it('rotates by compressed size, each segment a whole gzip file with its own header', async () => {
    const dir = tempDir();
    const { w } = makeWriter(dir, { ...gz, segmentBytes: 2000 });
    await w.open();
    for (let i = 0; i < 3000; i++) {
      w.append(lineRec(i, 50));
      if (i % 100 === 99) await w.flush();
    }
    await w.close();
    const names = segments(dir);
    expect(names.length).toBeGreaterThanOrEqual(3);
    for (const n of names) {
      expect(n).toMatch(/\.ndjson\.gz$/);
      const text = gunzipSync(readFileSync(join(dir, n))).toString();
      expect(JSON.parse(text.slice(0, text.indexOf('\n')))).toMatchObject({ k: 'header' });
    }
    expect(linesOf(await readAll(dir))).toEqual(
      Array.from({ length: 3000 }, (_, i) => (lineRec(i, 50) as { line: string }).line),
    );
  });

  it('old plain segments and new gzip ones replay together, in order', async () => {
    const dir = tempDir();
    const a = makeWriter(dir);
    await a.w.open();
    a.w.append(lineRec(1));
    await a.w.close();
    const b = makeWriter(dir, gz);
    b.clock.t += 1000;
    await b.w.open();
    b.w.append(lineRec(2));
    await b.w.close();
    expect(segments(dir)).toEqual([
      'ctscope-20240501T020304Z-000000.ndjson',
      'ctscope-20240501T020305Z-000001.ndjson.gz',
    ]);
    expect(linesOf(await readAll(dir))).toEqual([1, 2].map((i) => (lineRec(i) as { line: string }).line));
  });

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  it.skipIf(!isRoot)(
    'full disk on a real tmpfs (needs root): ends the broken segment, resumes in a new one, nothing unreadable',
    async () => {
      const dir = tempDir();
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
      try {
        const { w } = makeWriter(dir, { ...gz, retryMs: 20, now: Date.now });
        await w.open();
        let appended = 0;
        // Random padding so gzip cannot squeeze it: the disk fills.
        const noisy = (i: number): RecordingRecord => ({
          k: 'line',
          t: Date.now(),
          src: 'events',
          line: `${i} ${randomBytes(600).toString('base64')}`,
        });
        const sent: string[] = [];
        while (!w.state().paused && appended < 5000) {
          for (let i = 0; i < 20; i++) {
            const r = noisy(appended++) as { line: string };
            sent.push(r.line);
            w.append(r as RecordingRecord);
          }
          await w.flush();
        }
        expect(w.state()).toMatchObject({ paused: true, reason: expect.stringMatching(/ENOSPC|no space/i) });
        execFileSync('mount', ['-o', 'remount,size=4m', dir]);
        const deadline = Date.now() + 3000;
        while (w.state().paused && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(w.state().paused).toBe(false);
        w.append({ k: 'line', t: Date.now(), src: 'events', line: 'after resume' });
        await w.close();
        const names = segments(dir);
        expect(names.length).toBeGreaterThanOrEqual(2);
        const items = await readAll(dir);
        expect(items.filter((r) => 'error' in r)).toEqual([]);
        const lines = linesOf(items);
        expect(lines.at(-1)).toBe('after resume');
        // What was kept is a prefix of what was sent; the rest is counted as dropped and marked.
        const kept = lines.slice(0, -1);
        expect(kept).toEqual(sent.slice(0, kept.length));
        expect(kept.length + w.state().dropped).toBe(sent.length);
        const marks = gaps(items).filter((g) => g.reason.startsWith('recording-'));
        expect(marks.map((g) => g.reason)).toEqual(['recording-paused', 'recording-resumed']);
      } finally {
        for (const w of writers.splice(0)) await w.close();
        execFileSync('umount', [dir]);
      }
    },
  );
});
