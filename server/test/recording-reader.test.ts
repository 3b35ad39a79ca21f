import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECORDING_FORMAT_VERSION, type RecordingRecord } from '@ctscope/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { listRecordings, type RecordingReadError, readRecording } from '../src/recording/recording-reader.js';
import { RecordingWriter } from '../src/recording/recording-writer.js';
import { compareSegmentNames, resolveRecordingPath } from '../src/recording/segment-files.js';

const T0 = Date.UTC(2024, 4, 1, 2, 3, 4);
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ctscope-rec-'));
  dirs.push(d);
  return d;
}

async function readAll(path: string): Promise<Array<RecordingRecord | RecordingReadError>> {
  const out: Array<RecordingRecord | RecordingReadError> = [];
  for await (const item of readRecording(path)) out.push(item);
  return out;
}

const header = (t: number, node = 'node-a'): RecordingRecord => ({
  k: 'header',
  t,
  v: 1,
  node,
  writer: 'ctscope/0.1.0',
});
const line = (t: number, text = `l${t}`): RecordingRecord => ({ k: 'line', t, src: 'events', line: text });
const ndjson = (recs: RecordingRecord[]) => recs.map((r) => `${JSON.stringify(r)}\n`).join('');
const SEG = (ts: string, seq: number) => `ctscope-${ts}-${String(seq).padStart(6, '0')}.ndjson`;

describe('listRecordings', () => {
  it('lists segments oldest first with size, node, first and last record time', async () => {
    const dir = tempDir();
    const a = SEG('20240501T020304Z', 0);
    const b = SEG('20240501T030000Z', 1);
    writeFileSync(join(dir, b), ndjson([header(T0 + 5000, 'node-b'), line(T0 + 6000), line(T0 + 7000)]));
    writeFileSync(join(dir, a), ndjson([header(T0, 'node-a'), line(T0 + 1)]));
    writeFileSync(join(dir, 'README.txt'), 'not a segment\n');
    mkdirSync(join(dir, 'sub'));
    expect((await listRecordings(dir)).recordings).toEqual([
      {
        name: a,
        path: join(dir, a),
        bytes: statSync(join(dir, a)).size,
        firstT: T0,
        lastT: T0 + 1,
        node: 'node-a',
      },
      {
        name: b,
        path: join(dir, b),
        bytes: statSync(join(dir, b)).size,
        firstT: T0 + 5000,
        lastT: T0 + 7000,
        node: 'node-b',
      },
    ]);
  });

  it.each([
    [
      'ends without newline (truncated)',
      `${ndjson([header(T0), line(T0 + 1)])}{"k":"line","t":999,"li`,
      T0 + 1,
    ],
    ['truncated after a garbage line', `${ndjson([header(T0), line(T0 + 2)])}garbage\n{"k":"li`, T0 + 2],
    ['only a header', ndjson([header(T0)]), T0],
    ['cut inside the header', JSON.stringify(header(T0)).slice(0, -1), undefined],
    ['a whole record missing only its newline', ndjson([header(T0), line(T0 + 5)]).slice(0, -1), T0 + 5],
    ['empty file', '', undefined],
    [
      'last record much longer than the tail read size',
      ndjson([header(T0), line(T0 + 1), line(T0 + 3, 'y'.repeat(300_000))]),
      T0 + 3,
    ],
    ['CRLF line endings', ndjson([header(T0), line(T0 + 4)]).replaceAll('\n', '\r\n'), T0 + 4],
  ])('lastT when the file %s', async (_name, content, lastT) => {
    const dir = tempDir();
    writeFileSync(join(dir, SEG('20240501T020304Z', 0)), content);
    const [info] = (await listRecordings(dir)).recordings;
    expect(info!.lastT).toBe(lastT);
    expect(info!.bytes).toBe(Buffer.byteLength(content));
  });

  it('reads what a RecordingWriter wrote across rotations', async () => {
    const dir = tempDir();
    let t = T0;
    const w = new RecordingWriter({
      dir,
      node: 'n1',
      writer: 'w',
      maxAgeMs: Number.POSITIVE_INFINITY,
      maxBytes: 1e9,
      segmentBytes: 600,
      now: () => t,
    });
    await w.open();
    for (let i = 0; i < 30; i++) {
      t = T0 + i * 1000;
      w.append(line(t, `flow ${i} ${'z'.repeat(40)}`));
    }
    await w.close();
    const list = (await listRecordings(dir)).recordings;
    expect(list.length).toBeGreaterThan(2);
    expect(list.every((s) => s.node === 'n1')).toBe(true);
    expect(list[0]!.firstT).toBe(T0);
    expect(list.at(-1)!.lastT).toBe(T0 + 29_000);
    for (let i = 1; i < list.length; i++)
      expect(list[i]!.firstT!).toBeGreaterThanOrEqual(list[i - 1]!.lastT!);
  });
});

describe('readRecording', () => {
  it.each([
    ['half a JSON object', '{"k":"line","t":5,"src":"ev'],
    ['one brace', '{'],
    ['a cut number', '{"k":"gap","t":17'],
  ])('a truncated last line (%s) yields every earlier record then one error', async (_name, tail) => {
    const dir = tempDir();
    const file = join(dir, SEG('20240501T020304Z', 0));
    const recs = [header(T0), line(T0 + 1), line(T0 + 2)];
    writeFileSync(file, ndjson(recs));
    appendFileSync(file, tail);
    const items = await readAll(file);
    expect(items.slice(0, 3)).toEqual(recs);
    expect(items).toHaveLength(4);
    expect(items[3]).toMatchObject({ line: 4, path: file, error: expect.stringMatching(/truncated|JSON/) });
  });

  it('reads a directory in chronological name order and keeps going after a truncated segment', async () => {
    const dir = tempDir();
    // seq 9 vs 10 in the same second: numeric, not lexical, order.
    const names = [SEG('20240501T020304Z', 9), SEG('20240501T020304Z', 10), SEG('20240502T000000Z', 1)];
    const unpadded = 'ctscope-20240501T020304Z-9.ndjson';
    writeFileSync(join(dir, names[2]!), ndjson([header(T0 + 300), line(T0 + 301)]));
    writeFileSync(join(dir, names[1]!), `${ndjson([header(T0 + 200), line(T0 + 201)])}{"k":`);
    writeFileSync(join(dir, names[0]!), ndjson([header(T0 + 100), line(T0 + 101)]));
    writeFileSync(join(dir, 'other.ndjson'), ndjson([line(1)]));
    expect(compareSegmentNames(unpadded, 'ctscope-20240501T020304Z-10.ndjson')).toBeLessThan(0);
    const items = await readAll(dir);
    expect(items.map((r) => ('k' in r ? r.t - T0 : `error@${r.line}`))).toEqual([
      100,
      101,
      200,
      201,
      'error@3',
      300,
      301,
    ]);
  });

  it('reports a bad line in the middle and continues', async () => {
    const dir = tempDir();
    const file = join(dir, SEG('20240501T020304Z', 0));
    writeFileSync(file, `${ndjson([header(T0)])}{"k":"nope","t":1}\n42\n${ndjson([line(T0 + 1)])}`);
    const items = await readAll(file);
    expect(items).toEqual([
      header(T0),
      { error: 'unknown kind "nope"', line: 2, path: file },
      { error: 'not an object', line: 3, path: file },
      line(T0 + 1),
    ]);
  });

  it('rejects a segment from a newer format major and skips the rest of it', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, SEG('20240501T020304Z', 0)),
      ndjson([{ ...header(T0), v: RECORDING_FORMAT_VERSION + 1 } as RecordingRecord, line(1)]),
    );
    writeFileSync(join(dir, SEG('20240501T020304Z', 1)), ndjson([header(T0 + 1), line(T0 + 2)]));
    const items = await readAll(dir);
    expect(items).toHaveLength(3);
    expect(items[0]).toMatchObject({
      line: 1,
      error: expect.stringMatching(`version ${RECORDING_FORMAT_VERSION + 1}`),
    });
    expect(items.slice(1)).toEqual([header(T0 + 1), line(T0 + 2)]);
  });

  it('streams a record longer than one read chunk', async () => {
    const dir = tempDir();
    const file = join(dir, SEG('20240501T020304Z', 0));
    const big = line(T0 + 1, 'q'.repeat(1_000_000));
    writeFileSync(file, ndjson([header(T0), big, line(T0 + 2)]));
    expect(await readAll(file)).toEqual([header(T0), big, line(T0 + 2)]);
  });

  it('throws for a path that does not exist', async () => {
    await expect(readAll(join(tempDir(), 'missing.ndjson'))).rejects.toThrow(/ENOENT/);
  });
});

describe('resolveRecordingPath', () => {
  const ok = 'ctscope-20240501T020304Z-000001.ndjson';

  it('joins a segment name onto the directory', () => {
    expect(resolveRecordingPath('/var/lib/ctscope', ok)).toBe(`/var/lib/ctscope/${ok}`);
  });

  it.each([
    ['parent', '..'],
    ['dot', '.'],
    ['traversal', '../etc/passwd'],
    ['absolute', '/etc/passwd'],
    ['subdir', `sub/${ok}`],
    ['suffix traversal', `${ok}/../../x`],
    ['backslash', `..\\${ok}`],
    ['encoded', `..%2f${ok}`],
    ['empty', ''],
    ['wrong extension', 'ctscope-20240501T020304Z-000001.json'],
    ['no seq', 'ctscope-20240501T020304Z.ndjson'],
    ['trailing newline', `${ok}\n`],
    ['NUL', `${ok}\0`],
  ])('rejects %s', (_name, name) => {
    expect(() => resolveRecordingPath('/var/lib/ctscope', name)).toThrow(/invalid recording name/);
  });
});
