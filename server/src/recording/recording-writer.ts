/**
 * Append-only, rotating NDJSON recorder that never blocks or throws into the live pipeline: the queue, rotation,
 * gzip, pause markers and repair of torn writes (segment names and retention are in segment-files.ts).
 */
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip, type Gzip, constants as zlibConstants } from 'node:zlib';
import {
  RECORDING_FORMAT_VERSION,
  type RecGap,
  type RecHeader,
  type RecLine,
  type RecordingRecord,
} from '@ctscope/shared';
import { RECORDING_GZIP_LEVEL } from '../config.js';
import { applyRetention, nextSegmentSeq, segmentName } from './segment-files.js';

/** Options for {@link RecordingWriter}. */
export interface RecordingWriterOptions {
  /** Directory holding the segment files (created if missing). */
  dir: string;
  /** Node name written into every header. */
  node: string;
  /** Network namespace watched, if any. */
  netns?: string;
  /** ctscope version written into every header. */
  writer: string;
  /** Segments whose last write is older than this are deleted (Infinity disables). */
  maxAgeMs: number;
  /** Oldest segments are deleted while all segments together exceed this. */
  maxBytes: number;
  /** Rotate once the current segment reaches this size (default 64 MiB). */
  segmentBytes?: number;
  /** Rotate once the current segment is this old (default 1 h). */
  segmentMs?: number;
  /** Clock, ms since the epoch (tests inject one). */
  now?: () => number;
  /** Delay between write attempts while paused (default 5000). */
  retryMs?: number;
  /** Serialised records waiting for the disk beyond this are dropped (default 64 MiB). */
  maxQueueBytes?: number;
  /**
   * Write `.ndjson.gz` segments: one gzip stream per segment, sync-flushed after every batch so everything
   * written so far reads back even before the segment is closed or after a crash (default false; serve's
   * default is in config.ts).
   */
  gzip?: boolean;
  /** Called after each batch written or record dropped (the queue shrank, or will not grow by what was offered). */
  onProgress?: () => void;
}

/** Snapshot of a writer's progress, for status pages and metrics. */
export interface RecordingWriterState {
  dir: string;
  /** Current segment file name. */
  segment?: string;
  /** Bytes in the current segment (on disk: compressed when gzip is on). */
  bytes: number;
  /** Bytes of NDJSON given to the disk since start, before compression (so `rawBytes / written bytes` is the ratio). */
  rawBytes: number;
  /** Segments are gzip. */
  gzip: boolean;
  /** Bytes in all segments of `dir`. */
  totalBytes: number;
  /** True while writes fail (e.g. disk full) and records are being dropped. */
  paused: boolean;
  /** Why it is paused (the write error). */
  reason?: string;
  /** Records given to `append` (or markers) that never reached the disk. */
  dropped: number;
  /** Records written to disk, headers and gap markers included. */
  written: number;
  /** Bytes of records queued and not yet written. */
  queuedBytes: number;
}

const MiB = 1024 * 1024;
/** Default {@link RecordingWriterOptions.maxQueueBytes}. */
export const DEFAULT_MAX_QUEUE_BYTES = 64 * MiB;
/** Why records were dropped when the queue for the disk was full (the hole's `recording-paused` detail). */
export const QUEUE_FULL_REASON = 'recording queue full (disk too slow)';
/** Longest {@link RecordingWriter.roomFor} wait, ms. */
const ROOM_MAX_WAIT_MS = 2000;
/** Upper bound on one write, so a long backlog is not joined into one huge string. */
const MAX_BATCH_BYTES = MiB;

/** A stretch of records that did not reach the disk, closed by a paused/resumed gap pair. */
interface Hole {
  since: number;
  reason: string;
  dropped: number;
}

/**
 * Raw lines (a dump's, or events read together), queued as they are and written as `line` records only when the
 * drain reaches them: a 250k-entry dump is never copied into JSON strings all at once (that copy was ~60 MB of the
 * agent's peak and most of a second of the main thread's ingest).
 */
interface LazyLines {
  t: number;
  src: RecLine['src'];
  lines: readonly string[];
  /** The next line to write. */
  next: number;
}

type Queued = string | LazyLines;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Writes `RecordingRecord`s as NDJSON segments `ctscope-<UTC>-<seq>.ndjson` with rotation and retention.
 * `append` only enqueues; a single serialised background task does all file I/O. On a write error the
 * writer pauses (dropping and counting records), retries every `retryMs`, and marks the hole in the file.
 */
export class RecordingWriter {
  readonly #opts: Required<Omit<RecordingWriterOptions, 'netns' | 'onProgress'>> &
    Pick<RecordingWriterOptions, 'netns' | 'onProgress'>;
  readonly #now: () => number;

  #queue: Queued[] = [];
  /** Start time of the dump run, per scope, whose `begin` is queued and whose `end` is not yet. */
  readonly #openDumps = new Map<'full' | 'poll', number>();
  /** UTF-8 size of each queued line (estimated for lazy lines), in step with `#queue`. */
  #sizes: number[] = [];
  #queueBytes = 0;
  #drainScheduled = false;
  #roomWaiters: Array<{ bytes: number; resolve: () => void }> = [];
  /** Serialises every file operation; tasks never reject. */
  #chain: Promise<void> = Promise.resolve();

  #fh: FileHandle | undefined;
  #segment: string | undefined;
  #segmentOpenedAt = 0;
  #seq = 0;
  #bytes = 0;
  #otherBytes = 0;
  #needsHeader = false;
  /** A failed write may have left a partial line that could not be truncated away. */
  #torn = false;

  #opened = false;
  #closing = false;
  #paused: { since: number; reason: string } | undefined;
  #hole: Hole | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #dropped = 0;
  #written = 0;
  #rawBytes = 0;
  /** The current segment's compressor (gzip segments). */
  #gz: Gzip | undefined;
  /** The compressor took input that did not reach the disk: the segment cannot continue and is ended. */
  #gzBroken = false;

  constructor(opts: RecordingWriterOptions) {
    this.#opts = {
      ...opts,
      segmentBytes: opts.segmentBytes ?? 64 * MiB,
      segmentMs: opts.segmentMs ?? 60 * 60 * 1000,
      now: opts.now ?? Date.now,
      retryMs: opts.retryMs ?? 5000,
      maxQueueBytes: opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
      gzip: opts.gzip ?? false,
    };
    this.#now = this.#opts.now;
  }

  /** Creates the directory, applies retention and starts a segment with a header and a `server-start` gap. */
  async open(): Promise<void> {
    if (this.#opened) throw new Error('RecordingWriter already opened');
    this.#opened = true;
    await mkdir(this.#opts.dir, { recursive: true, mode: 0o700 });
    this.#seq = Math.max(this.#seq, await nextSegmentSeq(this.#opts.dir));
    await this.#run(async () => {
      await this.#createSegment();
      await this.#applyRetention();
      const start: RecGap = { k: 'gap', t: this.#now(), reason: 'server-start' };
      try {
        await this.#writeLines([`${JSON.stringify(start)}\n`]);
      } catch (err) {
        this.#pause(err, 1);
      }
    }, true);
    this.#scheduleDrain();
  }

  /**
   * Enqueues one record; never blocks or throws. Dropped (and counted) when paused, closed or over the queue
   * limit: returns whether it was queued.
   */
  append(rec: RecordingRecord): boolean {
    if (this.#closing || this.#paused) {
      this.#drop();
      return false;
    }
    let line: string;
    try {
      line = `${JSON.stringify(rec)}\n`;
    } catch {
      this.#drop();
      return false;
    }
    return this.appendSerialized(line);
  }

  /** {@link append} of `records` records already serialised as NDJSON lines (each ending in `\n`), kept or dropped whole. */
  appendSerialized(line: string, records = 1): boolean {
    if (this.#closing || this.#paused) {
      for (let i = 0; i < records; i++) this.#drop();
      return false;
    }
    const size = Buffer.byteLength(line);
    if (this.#queueBytes + size > this.#opts.maxQueueBytes) {
      for (let i = 0; i < records; i++) this.#drop(QUEUE_FULL_REASON);
      return false;
    }
    if (this.#hole) this.#enqueue(this.#closeHole());
    this.#enqueue(line, size);
    this.#scheduleDrain();
    return true;
  }

  /**
   * Enqueues `lines` as one `line` record each (the same as appending them one by one), serialised only when
   * written; `lines` must not change afterwards. Never blocks or throws; dropped whole when over the queue limit.
   */
  appendLines(t: number, src: RecLine['src'], lines: readonly string[]): void {
    if (lines.length === 0) return;
    if (this.#closing || this.#paused) {
      for (let i = 0; i < lines.length; i++) this.#drop();
      return;
    }
    const overhead = JSON.stringify({ k: 'line', t, src, line: '' }).length + 1;
    let size = lines.length * overhead;
    for (const l of lines) size += l.length;
    if (this.#queueBytes + size > this.#opts.maxQueueBytes) {
      for (let i = 0; i < lines.length; i++) this.#drop(QUEUE_FULL_REASON);
      return;
    }
    if (this.#hole) this.#enqueue(this.#closeHole());
    this.#queue.push({ t, src, lines, next: 0 });
    this.#sizes.push(size);
    this.#queueBytes += size;
    this.#scheduleDrain();
  }

  /**
   * A dump run (`scope`, started at `startedAt`) has lines to record: queues its `begin` unless already queued.
   * A `begin` that was dropped is tried again on the next call, so a replay never sees a run's lines without it.
   */
  dumpBegin(scope: 'full' | 'poll', startedAt: number): void {
    if (this.#openDumps.get(scope) === startedAt) return;
    if (this.append({ k: 'dump', t: startedAt, phase: 'begin', scope }))
      this.#openDumps.set(scope, startedAt);
  }

  /** A dump run ended at `at`: its `begin` if still owed, then its `end`. */
  dumpEnd(scope: 'full' | 'poll', at: number, startedAt: number): void {
    this.dumpBegin(scope, startedAt);
    this.#openDumps.delete(scope);
    this.append({ k: 'dump', t: at, phase: 'end', scope });
  }

  /**
   * Counts `count` records dropped before they reached this writer (by whoever queues for it), in `dropped` and in
   * the hole the recording marks for them (opened with `reason` if none is open).
   */
  noteDropped(count: number, reason: string | undefined): void {
    for (let i = 0; i < count; i++) this.#drop(reason);
  }

  /**
   * Resolves once at most `bytes` are queued, or at once when nothing is draining (paused, closed, not open):
   * lets a producer that can wait, such as a dump read back in chunks, keep the queue short instead of filling it.
   */
  roomFor(bytes: number): Promise<void> {
    if (this.#queueBytes <= bytes || !this.#drainScheduled || this.#hole) return Promise.resolve();
    return new Promise((resolve) => {
      // Never longer than this: other producers (the event tail) may keep the queue full on their own.
      const timer = setTimeout(() => {
        this.#roomWaiters = this.#roomWaiters.filter((w) => w.resolve !== done);
        resolve();
      }, ROOM_MAX_WAIT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#roomWaiters.push({ bytes, resolve: done });
    });
  }

  #wakeRoom(): void {
    this.#opts.onProgress?.();
    if (this.#roomWaiters.length === 0) return;
    // Dropping records (a hole is open): waiting for room would only hold the producer back for nothing.
    const draining = this.#drainScheduled && !this.#paused && !this.#hole;
    this.#roomWaiters = this.#roomWaiters.filter((w) => {
      if (draining && this.#queueBytes > w.bytes) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once everything queued so far is written, or dropped because the writer is paused. */
  async flush(): Promise<void> {
    while (this.#drainScheduled) await this.#chain;
    await this.#chain;
  }

  /** Appends a `server-stop` gap, writes what is queued and closes the segment; later appends are dropped. */
  async close(): Promise<void> {
    if (this.#closing) return this.flush();
    if (this.#opened && !this.#paused) {
      if (this.#hole) this.#enqueue(this.#closeHole());
      const stop: RecGap = { k: 'gap', t: this.#now(), reason: 'server-stop' };
      this.#enqueue(`${JSON.stringify(stop)}\n`);
    }
    this.#closing = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#scheduleDrain();
    await this.flush();
    await this.#run(async () => {
      // One last attempt, so a recording that was paused still ends with its hole and a stop marker.
      if (this.#paused && this.#fh) {
        const stop: RecGap = { k: 'gap', t: this.#now(), reason: 'server-stop' };
        try {
          await this.#resume([`${JSON.stringify(stop)}\n`]);
        } catch {
          this.#dropped++;
        }
      }
      // Anything still queued (never opened, or no segment to write to) is lost.
      this.#dropped += countLines(this.#queue);
      this.#queue = [];
      this.#sizes = [];
      this.#queueBytes = 0;
      await this.#closeSegment();
    });
  }

  /** Current progress and health. */
  state(): RecordingWriterState {
    const s: RecordingWriterState = {
      dir: this.#opts.dir,
      bytes: this.#bytes,
      totalBytes: this.#otherBytes + this.#bytes,
      rawBytes: this.#rawBytes,
      gzip: this.#opts.gzip,
      paused: this.#paused !== undefined,
      dropped: this.#dropped,
      written: this.#written,
      queuedBytes: this.#queueBytes,
    };
    if (this.#segment !== undefined) s.segment = this.#segment;
    if (this.#paused) s.reason = this.#paused.reason;
    return s;
  }

  #drop(reason?: string): void {
    this.#dropped++;
    if (this.#hole) this.#hole.dropped++;
    else if (reason !== undefined) this.#hole = { since: this.#now(), reason, dropped: 1 };
    this.#wakeRoom();
  }

  #enqueue(line: string, size = Buffer.byteLength(line)): void {
    this.#queue.push(line);
    this.#sizes.push(size);
    this.#queueBytes += size;
  }

  /** The `recording-paused` + `recording-resumed` pair that marks the current hole, and forgets the hole. */
  #closeHole(): string {
    const hole = this.#hole!;
    this.#hole = undefined;
    const paused: RecGap = { k: 'gap', t: hole.since, reason: 'recording-paused', detail: hole.reason };
    const resumed: RecGap = {
      k: 'gap',
      t: this.#now(),
      reason: 'recording-resumed',
      detail: `${hole.dropped} records dropped`,
      dropped: hole.dropped,
    };
    return `${JSON.stringify(paused)}\n${JSON.stringify(resumed)}\n`;
  }

  /** Chains a file task; `rethrow` lets `open` report failures, background tasks swallow them. */
  #run(task: () => Promise<void>, rethrow = false): Promise<void> {
    const p = this.#chain.then(task);
    this.#chain = p.catch(() => {});
    return rethrow ? p : this.#chain;
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled || !this.#fh || this.#paused || this.#queue.length === 0) return;
    this.#drainScheduled = true;
    void this.#run(() => this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#paused && this.#fh) {
        if (this.#shouldRotate()) {
          try {
            await this.#rotate();
          } catch (err) {
            this.#pause(err, 0);
            break;
          }
        }
        // Plain: fill the segment up to its limit so rotation by size is exact to one queued item (a line, or
        // the records a recorder thread hands over together, at most a few hundred KiB). Gzip: the compressed
        // size is known only after the batch, so a segment ends at the first batch that takes it past the limit.
        const limit = this.#opts.gzip
          ? MAX_BATCH_BYTES
          : Math.max(1, Math.min(MAX_BATCH_BYTES, this.#opts.segmentBytes - this.#bytes));
        const batch = this.#takeBatch(limit);
        try {
          await this.#writeLines(batch);
        } catch (err) {
          this.#pause(err, countLines(batch));
        }
        this.#wakeRoom();
      }
    } finally {
      this.#drainScheduled = false;
      this.#wakeRoom();
    }
  }

  /** Up to `limit` bytes of queued lines (at least one), lazy lines serialised as they are taken. */
  #takeBatch(limit: number): string[] {
    const batch: string[] = [];
    let batchBytes = 0;
    let n = 0;
    fill: while (n < this.#queue.length) {
      const item = this.#queue[n]!;
      if (typeof item === 'string') {
        const size = this.#sizes[n]!;
        if (batch.length > 0 && batchBytes + size > limit) break;
        batch.push(item);
        batchBytes += size;
        this.#queueBytes -= size;
        n++;
        continue;
      }
      while (item.next < item.lines.length) {
        const { t, src } = item;
        const line = `${JSON.stringify({ k: 'line', t, src, line: item.lines[item.next] })}\n`;
        const size = Buffer.byteLength(line);
        if (batch.length > 0 && batchBytes + size > limit) break fill;
        batch.push(line);
        batchBytes += size;
        item.next++;
      }
      this.#queueBytes -= this.#sizes[n]!;
      n++;
    }
    this.#queue.splice(0, n);
    this.#sizes.splice(0, n);
    return batch;
  }

  #shouldRotate(): boolean {
    if (this.#gzBroken) return true;
    // An empty segment (header still owed) is reused rather than left behind empty.
    if (this.#bytes === 0) return false;
    return (
      this.#bytes >= this.#opts.segmentBytes || this.#now() - this.#segmentOpenedAt >= this.#opts.segmentMs
    );
  }

  /** Writes `lines` (each ending in `\n`) at the end of the segment, prefixed by a header if still owed. */
  async #writeLines(lines: string[]): Promise<void> {
    if (this.#gzBroken) await this.#rotate();
    const fh = this.#fh;
    if (!fh) throw new Error('no open segment');
    if (this.#torn) await this.#cutTail(fh);
    let text = lines.join('');
    let records = countLines(lines);
    if (this.#needsHeader) {
      text = this.#headerLine() + text;
      records++;
    }
    // A fragment that could not be cut off is ended here, so it reads as one bad line, not a merged one.
    const torn = this.#torn;
    if (torn && !this.#gz) text = `\n${text}`;
    const raw = Buffer.byteLength(text);
    const buf = this.#gz ? await this.#compress(this.#gz, text) : Buffer.from(text);
    let off = 0;
    try {
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
    } catch (err) {
      if (off > 0) {
        this.#torn = true;
        await this.#cutTail(fh);
      }
      // The compressor already holds this text in its window: what follows could not be inflated. End here.
      if (this.#gz) this.#gzBroken = true;
      throw err;
    }
    this.#bytes = torn ? (await fh.stat()).size : this.#bytes + buf.length;
    this.#torn = false;
    this.#needsHeader = false;
    this.#written += records;
    this.#rawBytes += raw;
  }

  /** `text` through the segment's gzip stream, sync-flushed so the output so far inflates on its own. */
  async #compress(gz: Gzip, text: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const take = (c: Buffer) => chunks.push(c);
    gz.on('data', take);
    try {
      gz.write(text);
      await new Promise<void>((resolve) => gz.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
    } finally {
      gz.off('data', take);
    }
    return Buffer.concat(chunks);
  }

  /** Ends the current segment: a gzip one gets its trailer (unless it is broken), then the file is closed. */
  async #closeSegment(): Promise<void> {
    const fh = this.#fh;
    const gz = this.#gz;
    this.#fh = undefined;
    this.#gz = undefined;
    if (gz && fh && !this.#gzBroken && this.#bytes > 0) {
      try {
        const chunks: Buffer[] = [];
        gz.on('data', (c: Buffer) => chunks.push(c));
        await new Promise<void>((resolve, reject) => {
          gz.once('end', resolve);
          gz.once('error', reject);
          gz.end();
        });
        const tail = Buffer.concat(chunks);
        await fh.write(tail, 0, tail.length);
        this.#bytes += tail.length;
      } catch {
        // Without its trailer the segment still inflates up to the last flush.
      }
    } else gz?.destroy();
    this.#gzBroken = false;
    await fh?.close().catch(() => {});
  }

  /** Truncates a partial write back to the last whole line (also giving the space back). */
  async #cutTail(fh: FileHandle): Promise<void> {
    try {
      await fh.truncate(this.#bytes);
      this.#torn = false;
    } catch {
      // Stays torn: the next write starts with a newline instead.
    }
  }

  #headerLine(): string {
    const h: RecHeader = {
      k: 'header',
      t: this.#now(),
      v: RECORDING_FORMAT_VERSION,
      node: this.#opts.node,
      writer: this.#opts.writer,
    };
    if (this.#opts.netns !== undefined) h.netns = this.#opts.netns;
    return `${JSON.stringify(h)}\n`;
  }

  /** Creates the next segment file; its header is written with the first batch that reaches it. */
  async #createSegment(): Promise<void> {
    const t = this.#now();
    for (let attempt = 0; ; attempt++) {
      const name = `${segmentName(t, this.#seq++)}${this.#opts.gzip ? '.gz' : ''}`;
      try {
        // O_APPEND, so writes after a truncate land at the new end.
        this.#fh = await open(join(this.#opts.dir, name), 'ax', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
        throw err;
      }
      this.#segment = name;
      this.#segmentOpenedAt = t;
      this.#bytes = 0;
      this.#torn = false;
      this.#needsHeader = true;
      this.#gzBroken = false;
      if (this.#opts.gzip) this.#gz = createGzip({ level: RECORDING_GZIP_LEVEL });
      return;
    }
  }

  async #rotate(): Promise<void> {
    await this.#closeSegment();
    this.#otherBytes += this.#bytes;
    this.#bytes = 0;
    await this.#createSegment();
    await this.#applyRetention();
  }

  /** Deletes old segments per the retention options; never the current one. */
  async #applyRetention(): Promise<void> {
    this.#otherBytes = await applyRetention(
      this.#opts.dir,
      this.#opts,
      { name: this.#segment, bytes: this.#bytes },
      this.#now(),
    );
  }

  /** Enters the paused state after a failed write that lost `lost` records, dropping the backlog too. */
  #pause(err: unknown, lost: number): void {
    const lostTotal = lost + countLines(this.#queue);
    // A `begin` among what is lost is owed again.
    this.#openDumps.clear();
    this.#queue = [];
    this.#sizes = [];
    this.#queueBytes = 0;
    this.#dropped += lostTotal;
    const reason = errorText(err);
    if (!this.#paused) this.#paused = { since: this.#now(), reason };
    else this.#paused.reason = reason;
    // A queue-overflow hole still open merges into this one: one pair of markers covers both.
    if (this.#hole) this.#hole.dropped += lostTotal;
    else this.#hole = { since: this.#paused.since, reason, dropped: lostTotal };
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closing || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#run(async () => {
        if (!this.#paused || this.#closing) return;
        try {
          if (!this.#fh || this.#shouldRotate()) await this.#rotate();
          await this.#resume([]);
        } catch (err) {
          if (this.#paused) this.#paused.reason = errorText(err);
          this.#scheduleRetry();
          return;
        }
        this.#scheduleDrain();
      });
    }, this.#opts.retryMs);
    // A paused recorder must not keep the process alive on its own.
    this.#retryTimer.unref();
  }

  /** Writes the hole markers (plus `extra`); on success the writer is live again. Throws if still failing. */
  async #resume(extra: string[]): Promise<void> {
    const hole = this.#hole;
    const markers = hole ? this.#closeHole() : '';
    try {
      await this.#writeLines([markers, ...extra].filter((l) => l !== ''));
    } catch (err) {
      if (hole) this.#hole = hole;
      throw err;
    }
    this.#paused = undefined;
  }
}

/** Records in queued items: newlines in serialised ones, lines not yet written in lazy ones. */
function countLines(items: readonly Queued[]): number {
  let n = 0;
  for (const l of items) {
    if (typeof l !== 'string') n += l.lines.length - l.next;
    else for (let i = l.indexOf('\n'); i >= 0; i = l.indexOf('\n', i + 1)) n++;
  }
  return n;
}
