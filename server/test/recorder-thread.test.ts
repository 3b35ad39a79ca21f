import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecGap, RecordingRecord } from '@ctscope/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { RecorderThread } from '../src/recording/recorder-thread.js';
import { type RecordingReadError, readRecording } from '../src/recording/recording-reader.js';
import type { RecordingWriterOptions } from '../src/recording/recording-writer.js';
import { SEGMENT_NAME_RE } from '../src/recording/segment-files.js';

const dirs: string[] = [];
const recorders: RecorderThread[] = [];

afterEach(async () => {
  for (const r of recorders.splice(0)) await r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ctscope-recthread-'));
  dirs.push(d);
  return d;
}

function makeRecorder(
  dir: string,
  opts: Partial<Omit<RecordingWriterOptions, 'now' | 'onProgress'>> = {},
): RecorderThread {
  const r = new RecorderThread({
    dir,
    node: 'node-a',
    writer: 'ctscope/test',
    maxAgeMs: Number.POSITIVE_INFINITY,
    maxBytes: 1024 * 1024 * 1024,
    ...opts,
  });
  recorders.push(r);
  return r;
}

async function readDir(dir: string): Promise<Array<RecordingRecord | RecordingReadError>> {
  const out: Array<RecordingRecord | RecordingReadError> = [];
  for await (const item of readRecording(dir)) out.push(item);
  return out;
}

const eventLine = (i: number): RecordingRecord => ({
  k: 'line',
  t: 1_700_000_000_000 + i,
  src: 'events',
  line: `[NEW] udp 17 30 src=10.42.0.33 dst=10.43.0.10 sport=${1024 + i} dport=53 [UNREPLIED] src=10.43.0.10 dst=10.42.0.33 sport=53 dport=${1024 + i} id=${i}`,
});
const linesOf = (items: Array<RecordingRecord | RecordingReadError>) =>
  items.flatMap((r) => ('k' in r && r.k === 'line' ? [`${r.src}:${r.line}`] : []));
const gapReasons = (items: Array<RecordingRecord | RecordingReadError>) =>
  items.filter((r): r is RecGap => 'k' in r && r.k === 'gap').map((g) => g.reason);

/** Bytes in the directory's segment files. */
function segmentBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) if (SEGMENT_NAME_RE.test(name)) n += statSync(join(dir, name)).size;
  return n;
}

describe('RecorderThread (the RecordingWriter on its own thread)', () => {
  for (const gzip of [false, true]) {
    it(`keeps the order of records and dump lines, and ends with server-stop (${gzip ? 'gzip' : 'plain'})`, async () => {
      const dir = tempDir();
      const r = makeRecorder(dir, { gzip });
      await r.open();
      const want: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const rec = eventLine(i);
        expect(r.append(rec)).toBe(true);
        want.push(`events:${(rec as { line: string }).line}`);
        if (i % 1000 === 500) {
          const dump = [
            `udp 17 29 src=10.42.0.${i % 250} dst=10.43.0.10 sport=1 dport=53 id=${i}`,
            `odd "quoted" \\ ü ${i}`,
          ];
          r.appendLines(1_700_000_000_000 + i, 'dump', dump);
          for (const l of dump) want.push(`dump:${l}`);
        }
      }
      await r.flush();
      expect(r.state()).toMatchObject({ written: 3000 + 6 + 2, dropped: 0, queuedBytes: 0, gzip });
      await r.close();
      const items = await readDir(dir);
      expect(items.filter((x) => !('k' in x))).toEqual([]);
      expect(linesOf(items)).toEqual(want);
      expect(gapReasons(items)).toEqual(['server-start', 'server-stop']);
      expect(r.append(eventLine(9))).toBe(false);
      expect(r.state().dropped).toBe(1);
    });
  }

  it('writes while the main thread never yields', async () => {
    const dir = tempDir();
    const r = makeRecorder(dir, { gzip: true });
    await r.open();
    await r.flush();
    const before = segmentBytes(dir);
    // About 6 MiB of records; in the main thread the writer would need turns of the event loop to write any of it.
    for (let i = 0; i < 40_000; i++) r.append(eventLine(i));
    const until = Date.now() + 10_000;
    let written = before;
    while (Date.now() < until) {
      written = segmentBytes(dir);
      if (written > before + 200_000) break;
    }
    expect(written).toBeGreaterThan(before + 200_000);
    await r.flush();
    expect(r.state().written).toBe(40_000 + 2);
  });

  it('drops beyond its bound and marks the hole in the recording', async () => {
    const dir = tempDir();
    const r = makeRecorder(dir, { maxQueueBytes: 64 * 1024 });
    await r.open();
    // Appended in one task: beyond 64 KiB waiting here or in flight, records are dropped here.
    let queued = 0;
    for (let i = 0; i < 2000; i++) if (r.append(eventLine(i))) queued++;
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThan(2000);
    expect(r.state().dropped).toBeGreaterThanOrEqual(2000 - queued);
    await r.flush();
    expect(r.append(eventLine(2000))).toBe(true);
    await r.close();
    const items = await readDir(dir);
    const gaps = items.filter((x): x is RecGap => 'k' in x && x.k === 'gap');
    expect(gaps[0]?.reason).toBe('server-start');
    expect(gaps.at(-1)?.reason).toBe('server-stop');
    const resumed = gaps.filter((g) => g.reason === 'recording-resumed');
    expect(resumed.length).toBeGreaterThan(0);
    expect(gaps.filter((g) => g.reason === 'recording-paused').map((g) => g.detail)).toEqual(
      resumed.map(() => 'recording queue full (disk too slow)'),
    );
    // Every record is either in the recording or counted in a hole, and the last one made it.
    const dropped = r.state().dropped;
    expect(resumed.reduce((n, g) => n + (g.dropped ?? 0), 0)).toBe(dropped);
    const lines = linesOf(items);
    expect(lines.length + dropped).toBe(2001);
    expect(lines.at(-1)).toBe(`events:${(eventLine(2000) as { line: string }).line}`);
  });

  it('counts a record that cannot be serialised as dropped, without a hole', async () => {
    const dir = tempDir();
    const r = makeRecorder(dir);
    await r.open();
    expect(r.append({ k: 'line', t: 1n as unknown as number, src: 'events', line: 'x' })).toBe(false);
    expect(r.append(eventLine(1))).toBe(true);
    await r.close();
    expect(r.state().dropped).toBe(1);
    const items = await readDir(dir);
    expect(gapReasons(items)).toEqual(['server-start', 'server-stop']);
    expect(linesOf(items)).toHaveLength(1);
  });

  it('closed while it opens: the recording still starts and ends whole', async () => {
    const dir = tempDir();
    const r = makeRecorder(dir);
    const opening = r.open();
    r.append(eventLine(1));
    await r.close();
    await opening;
    const items = await readDir(dir);
    expect(items.filter((x) => !('k' in x))).toEqual([]);
    expect(gapReasons(items)).toEqual(['server-start', 'server-stop']);
    expect(linesOf(items)).toHaveLength(1);
  });

  it('records a dump run through the writer: begin once, then its lines, then its end', async () => {
    const dir = tempDir();
    const r = makeRecorder(dir);
    await r.open();
    r.dumpBegin('full', 1000);
    r.appendLines(1100, 'dump', ['udp 17 29 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 id=1']);
    r.dumpBegin('full', 1000);
    r.appendLines(1200, 'dump', ['udp 17 28 src=10.0.0.1 dst=10.0.0.2 sport=3 dport=2 id=2']);
    r.dumpEnd('full', 1300, 1000);
    await r.close();
    const kinds = (await readDir(dir)).flatMap((x) =>
      'k' in x && (x.k === 'dump' || x.k === 'line')
        ? [x.k === 'dump' ? `${x.phase}@${x.t}` : `line@${x.t}`]
        : [],
    );
    expect(kinds).toEqual(['begin@1000', 'line@1100', 'line@1200', 'end@1300']);
  });

  it('answers roomFor once the queue has drained', async () => {
    const dir = tempDir();
    const r = makeRecorder(dir, { gzip: true });
    await r.open();
    for (let i = 0; i < 2_000; i++) r.append(eventLine(i));
    expect(r.state().queuedBytes).toBeGreaterThan(0);
    await r.roomFor(0);
    // Queued no more (the last batch may still be on its way to the disk: written is for flush to wait for).
    expect(r.state().queuedBytes).toBe(0);
    await r.flush();
    expect(r.state().written).toBe(2_000 + 2);
  });

  it('reports a recording that cannot open, and still closes', async () => {
    const parent = tempDir();
    const file = join(parent, 'not-a-dir');
    writeFileSync(file, 'x');
    const r = makeRecorder(join(file, 'rec'));
    await expect(r.open()).rejects.toThrow(/ENOTDIR/);
    await r.close();
    expect(r.append(eventLine(1))).toBe(false);
  });
});
