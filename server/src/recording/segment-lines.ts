/** Reads one segment's lines with their byte offsets, plain NDJSON or gzip (detected by magic bytes), from any offset. */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { openSegmentNoFollow } from './segment-files.js';

/** One line of a segment. */
export interface SegmentLine {
  text: string;
  /** Byte offset of the line's start in the uncompressed stream. */
  offset: number;
  /** 1-based line number. */
  lineNo: number;
  /** Byte offset just after the line's newline: where the next line starts. */
  next: number;
}

/** Longest line read (a checkpoint of a big table is large, but must still fit in a JS string). */
export const MAX_SEGMENT_LINE = 256 * 1024 * 1024;

/** Whether the open file starts with the gzip magic bytes (1f 8b). */
async function isGzip(fh: FileHandle): Promise<boolean> {
  const buf = Buffer.alloc(2);
  const { bytesRead } = await fh.read(buf, 0, 2, 0);
  return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * The segment's uncompressed byte stream, from `offset` on (gzip is inflated from its start and skipped to it).
 * Opened without following a symbolic link; `file` is the raw file stream, destroyed with `stream`.
 */
async function openStream(
  path: string,
  offset: number,
): Promise<{ stream: Readable; file: Readable; skip: number }> {
  const fh = await openSegmentNoFollow(path);
  let gz: boolean;
  try {
    gz = await isGzip(fh);
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
  if (gz) {
    // Node's gunzip reads concatenated members too (a writer may flush one member per batch).
    const file = fh.createReadStream({ start: 0, highWaterMark: 1024 * 1024 });
    return { stream: file.pipe(createGunzip({ chunkSize: 256 * 1024 })), file, skip: offset };
  }
  const file = fh.createReadStream({ start: offset, highWaterMark: 1024 * 1024 });
  return { stream: file, file, skip: 0 };
}

/**
 * Lines of a segment from uncompressed byte `offset` (a line start) on; `lineNo` numbers the first line yielded.
 * An overlong line is yielded as text `''` with `overlong` set, so callers report it in place.
 */
export async function* segmentLines(
  path: string,
  offset = 0,
  lineNo = 1,
): AsyncGenerator<SegmentLine & { overlong?: boolean }> {
  const { stream, file, skip } = await openStream(path, offset);
  let toSkip = skip;
  let pos = offset;
  let no = lineNo;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let overlong = false;
  const chunks = truncationTolerant(stream);
  try {
    for await (const raw of chunks) {
      let chunk = raw as Buffer;
      if (toSkip > 0) {
        if (chunk.length <= toSkip) {
          toSkip -= chunk.length;
          continue;
        }
        chunk = chunk.subarray(toSkip);
        toSkip = 0;
      }
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) break;
        const lineStart = pos;
        const len = partBytes + (nl - start);
        const next = lineStart + len + 1;
        if (overlong || len > MAX_SEGMENT_LINE) {
          yield { text: '', offset: lineStart, lineNo: no++, next, overlong: true };
        } else {
          const text =
            partBytes === 0
              ? chunk.toString('utf8', start, nl)
              : Buffer.concat([...parts, chunk.subarray(start, nl)]).toString('utf8');
          yield { text, offset: lineStart, lineNo: no++, next };
        }
        pos += len + 1;
        parts = [];
        partBytes = 0;
        overlong = false;
        start = nl + 1;
      }
      if (start < chunk.length) {
        if (!overlong) parts.push(chunk.subarray(start));
        partBytes += chunk.length - start;
        if (partBytes > MAX_SEGMENT_LINE) {
          overlong = true;
          parts = [];
        }
      }
    }
    if (partBytes > 0) {
      // An unterminated last line (a crash mid-write): yielded, so the parser reports it if it is cut short.
      const next = pos + partBytes;
      yield overlong
        ? { text: '', offset: pos, lineNo: no, next, overlong: true }
        : { text: Buffer.concat(parts).toString('utf8'), offset: pos, lineNo: no, next };
    }
  } finally {
    stream.destroy();
    file.destroy();
  }
}

/** The stream's chunks; a gzip segment cut short (the writer crashed) ends the stream instead of throwing. */
async function* truncationTolerant(stream: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'Z_BUF_ERROR') throw err;
  }
}
