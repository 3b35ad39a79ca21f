/** The recording's segment files on disk: their names, listing them in order, safe paths, and retention. */
import { constants } from 'node:fs';
import { type FileHandle, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Segment file names: `ctscope-<UTC yyyymmddThhmmssZ>-<seq>.ndjson`, or `.ndjson.gz` when compressed. */
export const SEGMENT_NAME_RE = /^ctscope-(\d{8}T\d{6}Z)-(\d{1,12})\.ndjson(?:\.gz)?$/;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The name of segment `seq` started at `t`. */
export function segmentName(t: number, seq: number): string {
  const d = new Date(t);
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return `ctscope-${stamp}-${pad(seq, 6)}.ndjson`;
}

/** Orders segment names chronologically (timestamp, then numeric sequence). */
export function compareSegmentNames(a: string, b: string): number {
  const ma = SEGMENT_NAME_RE.exec(a);
  const mb = SEGMENT_NAME_RE.exec(b);
  if (!ma || !mb) return a < b ? -1 : a > b ? 1 : 0;
  if (ma[1] !== mb[1]) return ma[1]! < mb[1]! ? -1 : 1;
  return Number(ma[2]) - Number(mb[2]);
}

/** An entry with a segment's name that is not read, and why. */
export interface SkippedEntry {
  name: string;
  reason: string;
}

/** Segment files in `dir`, oldest first, plus entries with a segment name that are not regular files. */
export async function scanSegments(dir: string): Promise<{ names: string[]; skipped: SkippedEntry[] }> {
  const names: string[] = [];
  const skipped: SkippedEntry[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!SEGMENT_NAME_RE.test(e.name)) continue;
    if (e.isFile()) names.push(e.name);
    else
      skipped.push({
        name: e.name,
        reason: e.isSymbolicLink() ? 'a symbolic link (not followed)' : 'not a regular file',
      });
  }
  return { names: names.sort(compareSegmentNames), skipped };
}

/** Segment file names in `dir`, oldest first (regular files only). */
export async function listSegmentNames(dir: string): Promise<string[]> {
  return (await scanSegments(dir)).names;
}

/** Opens a segment for reading without following a symbolic link; refuses anything but a regular file. */
export async function openSegmentNoFollow(path: string): Promise<FileHandle> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
  }
  return fh;
}

/** The sequence number after the highest one in `dir` (0 when empty), so a restart never reuses a name. */
export async function nextSegmentSeq(dir: string): Promise<number> {
  let next = 0;
  for (const name of await listSegmentNames(dir)) {
    next = Math.max(next, Number(SEGMENT_NAME_RE.exec(name)![2]) + 1);
  }
  return next;
}

/** Joins a segment name onto `dir`; throws on anything that is not a plain segment name (path traversal). */
export function resolveRecordingPath(dir: string, name: string): string {
  if (typeof name !== 'string' || !SEGMENT_NAME_RE.test(name))
    throw new Error(`invalid recording name ${JSON.stringify(name)}`);
  return join(dir, name);
}

/** What {@link applyRetention} keeps. */
export interface RetentionPolicy {
  /** Oldest segments are deleted while all segments together exceed this. */
  maxBytes: number;
  /** Segments whose last write is older than this are deleted. */
  maxAgeMs: number;
}

/**
 * Deletes the oldest segments while over `maxBytes`, and any older than `maxAgeMs`; never `current` (the one
 * being written, `currentBytes` long). Returns the bytes the other segments still hold.
 */
export async function applyRetention(
  dir: string,
  policy: RetentionPolicy,
  current: { name: string | undefined; bytes: number },
  now: number,
): Promise<number> {
  const segs: Array<{ name: string; size: number; mtime: number }> = [];
  for (const name of await listSegmentNames(dir)) {
    if (name === current.name) continue;
    try {
      const st = await stat(join(dir, name));
      segs.push({ name, size: st.size, mtime: st.mtimeMs });
    } catch {
      // Vanished meanwhile.
    }
  }
  let total = segs.reduce((n, s) => n + s.size, 0) + current.bytes;
  const cutoff = now - policy.maxAgeMs;
  for (const s of segs) {
    if (total > policy.maxBytes || s.mtime < cutoff) {
      try {
        await unlink(join(dir, s.name));
        total -= s.size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') total -= s.size;
      }
    }
  }
  return total - current.bytes;
}
