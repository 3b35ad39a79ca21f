/** Reads recordings written by RecordingWriter: segment listing, streaming records, safe path resolution. */
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseRecordingLine,
  RECORDING_FORMAT_VERSION,
  type RecordingInfo,
  type RecordingRecord,
} from '@ctscope/shared';
import { segmentLines } from './segment-lines.js';

/** Segment file names: `ctscope-<UTC yyyymmddThhmmssZ>-<seq>.ndjson`, or `.ndjson.gz` when compressed. */
export const SEGMENT_NAME_RE = /^ctscope-(\d{8}T\d{6}Z)-(\d{1,12})\.ndjson(?:\.gz)?$/;

/** Longest record line read; checkpoints of big tables are large, but a line must still fit in a JS string. */
export const MAX_RECORD_LINE = 256 * 1024 * 1024;

/** A line of a recording that could not be read. */
export interface RecordingReadError {
  error: string;
  /** 1-based line number within `path`. */
  line: number;
  /** Segment file the line is in. */
  path: string;
}

/** Orders segment names chronologically (timestamp, then numeric sequence). */
export function compareSegmentNames(a: string, b: string): number {
  const ma = SEGMENT_NAME_RE.exec(a);
  const mb = SEGMENT_NAME_RE.exec(b);
  if (!ma || !mb) return a < b ? -1 : a > b ? 1 : 0;
  if (ma[1] !== mb[1]) return ma[1]! < mb[1]! ? -1 : 1;
  return Number(ma[2]) - Number(mb[2]);
}

/** Segment file names in `dir`, oldest first. */
export async function listSegmentNames(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => SEGMENT_NAME_RE.test(n)).sort(compareSegmentNames);
}

/** Joins a segment name onto `dir`; throws on anything that is not a plain segment name (path traversal). */
export function resolveRecordingPath(dir: string, name: string): string {
  if (typeof name !== 'string' || !SEGMENT_NAME_RE.test(name))
    throw new Error(`invalid recording name ${JSON.stringify(name)}`);
  return join(dir, name);
}

const HEAD_CHUNK = 64 * 1024;
const MAX_HEAD_LINE = 1024 * 1024;
/** How many trailing complete lines are tried for `lastT` before giving up (only garbage would need more). */
const MAX_TAIL_LINES = 16;

async function readFirstLine(fh: FileHandle, size: number): Promise<string | undefined> {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < size && pos < MAX_HEAD_LINE) {
    const buf = Buffer.alloc(Math.min(HEAD_CHUNK, size - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    const chunk = buf.subarray(0, bytesRead);
    const nl = chunk.indexOf(10);
    if (nl >= 0) {
      parts.push(chunk.subarray(0, nl));
      return Buffer.concat(parts).toString('utf8');
    }
    parts.push(chunk);
    pos += bytesRead;
  }
  return pos >= size && pos > 0 ? Buffer.concat(parts).toString('utf8') : undefined;
}

/**
 * Non-empty lines from the end of the file backwards, the unterminated tail included: a record cut short
 * never parses (its closing brace is its last character), so callers parsing these only accept whole ones.
 */
async function* linesBackward(fh: FileHandle, size: number): AsyncGenerator<string> {
  let pos = size;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  while (pos > 0) {
    const len = Math.min(HEAD_CHUNK, pos);
    pos -= len;
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, pos);
    const chunk = buf.subarray(0, bytesRead);
    let segEnd = chunk.length;
    for (let i = chunk.length - 1; i >= 0; i--) {
      if (chunk[i] !== 10) continue;
      if (segEnd > i + 1 || pendingBytes > 0) {
        yield Buffer.concat([chunk.subarray(i + 1, segEnd), ...pending]).toString('utf8');
      }
      pending = [];
      pendingBytes = 0;
      segEnd = i;
    }
    if (segEnd > 0) {
      pending.unshift(chunk.subarray(0, segEnd));
      pendingBytes += segEnd;
    }
    if (pendingBytes > MAX_RECORD_LINE) return;
  }
  if (pendingBytes > 0) yield Buffer.concat(pending).toString('utf8');
}

/** Lists segment files in `dir` with header info and the last record time, reading only head and tail. */
export async function listRecordings(dir: string): Promise<RecordingInfo[]> {
  const out: RecordingInfo[] = [];
  for (const name of await listSegmentNames(dir)) {
    const path = join(dir, name);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      const { size } = await fh.stat();
      const info: RecordingInfo = { name, path, bytes: size };
      const first = await readFirstLine(fh, size);
      if (first !== undefined) {
        const rec = parseRecordingLine(first);
        if (!('error' in rec)) {
          info.firstT = rec.t;
          if (rec.k === 'header') info.node = rec.node;
        }
      }
      let tried = 0;
      for await (const line of linesBackward(fh, size)) {
        const rec = parseRecordingLine(line);
        if (!('error' in rec)) {
          info.lastT = rec.t;
          break;
        }
        if (++tried >= MAX_TAIL_LINES) break;
      }
      out.push(info);
    } catch (err) {
      // Deleted by retention between readdir and open: not a recording any more.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    } finally {
      await fh?.close();
    }
  }
  return out;
}

async function* readSegment(path: string): AsyncGenerator<RecordingRecord | RecordingReadError> {
  for await (const l of segmentLines(path)) {
    if (l.overlong) {
      yield { error: 'line too long', line: l.lineNo, path };
      continue;
    }
    if (l.text.trim() === '') continue;
    const rec = parseRecordingLine(l.text);
    if ('error' in rec) {
      yield { error: rec.error, line: l.lineNo, path };
    } else if (rec.k === 'header' && Math.trunc(rec.v) > RECORDING_FORMAT_VERSION) {
      yield {
        error: `unsupported format version ${rec.v} (reader knows ${RECORDING_FORMAT_VERSION})`,
        line: l.lineNo,
        path,
      };
      return;
    } else {
      yield rec;
    }
  }
}

/**
 * Streams records from one segment file, or from every segment in a directory in chronological order.
 * Unreadable lines (e.g. a line truncated by a crash) become error items; only I/O errors throw.
 */
export async function* readRecording(path: string): AsyncGenerator<RecordingRecord | RecordingReadError> {
  const st = await stat(path);
  const files = st.isDirectory() ? (await listSegmentNames(path)).map((n) => join(path, n)) : [path];
  for (const file of files) yield* readSegment(file);
}
