/** Reads recordings written by RecordingWriter: the segment list with times, and streaming records. */
import { type FileHandle, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseRecordingLine,
  RECORDING_FORMAT_VERSION,
  type RecordingInfo,
  type RecordingRecord,
} from '@ctscope/shared';
import { openSegmentNoFollow, type SkippedEntry, scanSegments } from './segment-files.js';
import { segmentLines } from './segment-lines.js';

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

/**
 * Lists segment files in `dir` with header info and the last record time, reading only head and tail. Entries
 * that cannot be read (symbolic links, directories, unreadable files) are skipped and reported, never fatal.
 */
export async function listRecordings(
  dir: string,
): Promise<{ recordings: RecordingInfo[]; skipped: SkippedEntry[] }> {
  const out: RecordingInfo[] = [];
  const { names, skipped } = await scanSegments(dir);
  for (const name of names) {
    const path = join(dir, name);
    let fh: FileHandle | undefined;
    try {
      fh = await openSegmentNoFollow(path);
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
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') skipped.push({ name, reason: errText(err) });
    } finally {
      await fh?.close();
    }
  }
  return { recordings: out, skipped };
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ELOOP') return 'a symbolic link (not followed)';
  return e.code ? `${e.code}: ${e.message}` : String(err);
}

async function* readSegment(path: string): AsyncGenerator<RecordingRecord | RecordingReadError> {
  try {
    yield* parseSegment(path);
  } catch (err) {
    // Every replay error names the segment file it came from.
    throw new Error(`${path}: ${errText(err)}`);
  }
}

async function* parseSegment(path: string): AsyncGenerator<RecordingRecord | RecordingReadError> {
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
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (err) {
    throw new Error(`${path}: ${errText(err)}`);
  }
  if (!st.isDirectory()) {
    yield* readSegment(path);
    return;
  }
  const { names, skipped } = await scanSegments(path);
  for (const s of skipped) yield { error: `skipped: ${s.reason}`, line: 0, path: join(path, s.name) };
  for (const n of names) yield* readSegment(join(path, n));
}
