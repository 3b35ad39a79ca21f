/**
 * The live recorder as the main thread sees it: records are serialised here, in order, and handed to the recorder
 * thread (recorder-worker.ts), whose RecordingWriter compresses and writes them whatever the main thread is doing.
 */
import { Worker } from 'node:worker_threads';
import type { RecLine, RecordingRecord } from '@ctscope/shared';
import type {
  RecorderCommand,
  RecorderItem,
  RecorderReply,
  RecorderWorkerData,
} from './recorder-messages.js';
import {
  DEFAULT_MAX_QUEUE_BYTES,
  QUEUE_FULL_REASON,
  type RecordingWriterOptions,
  type RecordingWriterState,
} from './recording-writer.js';

/** What the live agent needs of a recorder (RecordingWriter's own surface). */
export interface Recorder {
  open(): Promise<void>;
  /**
   * Enqueues one record; never blocks or throws. Returns whether it was queued (false: dropped and counted); a
   * writer on another thread can still drop a queued record when its own queue is full (counted there).
   */
  append(rec: RecordingRecord): boolean;
  /** One `line` record per line, serialised only when written; `lines` must not change afterwards. */
  appendLines(t: number, src: RecLine['src'], lines: readonly string[]): void;
  /** A dump run has lines to record: its `begin`, once per run, tried again while it is being dropped. */
  dumpBegin(scope: 'full' | 'poll', startedAt: number): void;
  /** A dump run ended: its `begin` if still owed, then its `end`. */
  dumpEnd(scope: 'full' | 'poll', at: number, startedAt: number): void;
  /** Resolves once at most `bytes` wait for the disk (or at once when nothing drains). */
  roomFor(bytes: number): Promise<void>;
  /** Resolves once everything appended so far is written, or dropped. */
  flush(): Promise<void>;
  /** Appends the `server-stop` gap, writes what is queued, closes the segment; later appends are dropped. */
  close(): Promise<void>;
  state(): RecordingWriterState;
}

/** Under vitest the recorder runs from `src/*.ts`, which a worker cannot load on Node 20: use the build. */
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/recording/recorder-worker.js' : './recorder-worker.js',
  import.meta.url,
);

/** Serialised records are handed over once this many chars wait, else at the end of the current task. */
const POST_CHARS = 256 * 1024;

/** Options for {@link RecorderThread}: the writer's, less its clock (the recorder thread uses the wall clock). */
export interface RecorderThreadOptions extends Omit<RecordingWriterOptions, 'now' | 'onProgress'> {
  /** The recorder thread ended without being closed: what it had queued is lost, and nothing more is written. */
  onFailure?: (message: string) => void;
}

/** A {@link Recorder} whose RecordingWriter runs on its own thread. */
export class RecorderThread implements Recorder {
  readonly #options: Omit<RecordingWriterOptions, 'now' | 'onProgress'>;
  readonly #onFailure: ((message: string) => void) | undefined;
  /**
   * Chars [0] and records [1] handed over and not yet queued by the writer (this thread adds, it subtracts), and
   * [2] the bytes in the writer's queue (it stores them).
   */
  readonly #inFlight = new Int32Array(new SharedArrayBuffer(12));
  /** Bound on what waits here, in flight and in the writer's queue, together. */
  readonly #maxChars: number;
  #worker: Worker | undefined;
  /** Set when the recorder thread has ended (closed, or died): nothing reaches the disk any more. */
  #ended = false;
  #closing: Promise<void> | undefined;
  #pending: RecorderItem[] = [];
  #pendingChars = 0;
  #pendingRecords = 0;
  #postQueued = false;
  /** Records dropped here, not yet reported to the writer (so that its hole markers count them). */
  #unreported = 0;
  #unreportedReason: string | undefined;
  /** The writer replied to `close`: its thread's end is expected. */
  #closedReply = false;
  /** Every record dropped here. */
  #droppedHere = 0;
  #state: RecordingWriterState;
  /** Of the writer's `dropped`, the records reported from here (counted in {@link droppedHere} already). */
  #noted = 0;
  #nextId = 1;
  readonly #waiters = new Map<number, () => void>();
  #opened: ((error: string | undefined) => void) | undefined;
  #closed: (() => void) | undefined;

  constructor({ onFailure, ...options }: RecorderThreadOptions) {
    this.#options = options;
    this.#onFailure = onFailure;
    this.#maxChars = options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
    this.#state = {
      dir: options.dir,
      bytes: 0,
      rawBytes: 0,
      gzip: options.gzip ?? false,
      totalBytes: 0,
      paused: false,
      dropped: 0,
      written: 0,
      queuedBytes: 0,
    };
  }

  async open(): Promise<void> {
    if (this.#worker) throw new Error('RecorderThread already opened');
    const data: RecorderWorkerData = {
      options: this.#options,
      inFlight: this.#inFlight.buffer as SharedArrayBuffer,
    };
    const worker = new Worker(WORKER_URL, { workerData: data });
    this.#worker = worker;
    worker.on('message', (m: RecorderReply) => this.#onReply(m));
    worker.on('error', (err) => {
      process.stderr.write(`ctscope: recorder thread failed: ${err.message}\n`);
    });
    worker.once('exit', () => this.#onExit());
    const opened = new Promise<string | undefined>((resolve) => {
      this.#opened = resolve;
    });
    this.#send({ t: 'open' });
    this.#post();
    const error = await opened;
    if (error !== undefined) {
      // Nothing could ever be written: end the thread, so that records are counted as dropped, not held.
      this.#closedReply = true;
      await worker.terminate();
      this.#state = { ...this.#state, paused: true, reason: error, queuedBytes: 0 };
      throw new Error(error);
    }
  }

  append(rec: RecordingRecord): boolean {
    let line: string;
    try {
      line = `${JSON.stringify(rec)}\n`;
    } catch {
      this.#drop(1, undefined);
      return false;
    }
    if (!this.#admit(line.length, 1)) return false;
    const last = this.#pending[this.#pending.length - 1];
    if (last !== undefined && 'text' in last) {
      last.text += line;
      last.records++;
    } else this.#pending.push({ text: line, records: 1 });
    this.#queued(line.length, 1);
    return true;
  }

  appendLines(t: number, src: RecLine['src'], lines: readonly string[]): void {
    if (lines.length === 0) return;
    const overhead = JSON.stringify({ k: 'line', t, src, line: '' }).length + 1;
    let chars = lines.length * overhead;
    for (const l of lines) chars += l.length;
    this.#push({ t, src, lines }, chars, lines.length);
  }

  // A `begin` is sent with every chunk of a run and written once by the writer: it counts as no record here (if
  // every one is dropped, the writer still writes it before the run's end).
  dumpBegin(scope: 'full' | 'poll', startedAt: number): void {
    this.#push({ dump: 'begin', scope, startedAt }, 64, 0);
  }

  dumpEnd(scope: 'full' | 'poll', at: number, startedAt: number): void {
    this.#push({ dump: 'end', scope, at, startedAt }, 128, 1);
  }

  roomFor(bytes: number): Promise<void> {
    // Already within it: no round trip (a dump read back in chunks asks after every chunk).
    if (this.#queuedChars() <= bytes) return Promise.resolve();
    return this.#ask((id) => ({ t: 'room', id, bytes }));
  }

  flush(): Promise<void> {
    return this.#ask((id) => ({ t: 'flush', id }));
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (!this.#worker || this.#ended) {
      this.#closing = Promise.resolve();
      this.#droppedHere += this.#pendingRecords;
      this.#unreported = 0;
      this.#pending = [];
      this.#pendingChars = 0;
      this.#pendingRecords = 0;
      return this.#closing;
    }
    const closed = new Promise<void>((resolve) => {
      this.#closed = resolve;
    });
    this.#send({ t: 'close' });
    this.#closing = closed;
    return closed;
  }

  state(): RecordingWriterState {
    return {
      ...this.#state,
      dropped: this.#state.dropped - this.#noted + this.#droppedHere,
      queuedBytes: this.#queuedChars(),
    };
  }

  #push(item: RecorderItem, chars: number, records: number): boolean {
    if (!this.#admit(chars, records)) return false;
    this.#pending.push(item);
    this.#queued(chars, records);
    return true;
  }

  /** Whether `records` records of `chars` may be queued; else they are dropped (and counted) here. */
  #admit(chars: number, records: number): boolean {
    // Before open(), nothing could keep the order of drops and records: the agent opens before its sources start.
    if (this.#closing || this.#ended || !this.#worker) {
      this.#drop(records, undefined);
      return false;
    }
    if (this.#queuedChars() + chars > this.#maxChars) {
      this.#drop(records, QUEUE_FULL_REASON);
      return false;
    }
    return true;
  }

  /** Accounts what was just added to the pending items, and hands them over when due. */
  #queued(chars: number, records: number): void {
    this.#pendingChars += chars;
    this.#pendingRecords += records;
    if (this.#pendingChars >= POST_CHARS) this.#post();
    else if (!this.#postQueued) {
      this.#postQueued = true;
      queueMicrotask(() => this.#post());
    }
  }

  /** What waits here, in flight, and in the writer's queue (bytes there, chars elsewhere: ASCII in practice). */
  #queuedChars(): number {
    if (this.#ended) return 0;
    return Atomics.load(this.#inFlight, 2) + Atomics.load(this.#inFlight, 0) + this.#pendingChars;
  }

  #drop(records: number, reason: string | undefined): void {
    this.#droppedHere += records;
    if (this.#closing || this.#ended || !this.#worker) return;
    // What was appended before the drop goes first, so the hole lands where the records went missing; drops
    // for another reason are reported apart (only a reason opens a hole, as in the writer).
    if (this.#pending.length > 0 || (this.#unreported > 0 && reason !== this.#unreportedReason)) this.#post();
    if (this.#unreported === 0) this.#unreportedReason = reason;
    this.#unreported += records;
  }

  /** Hands what waits here to the recorder thread (once it exists). */
  #post(): void {
    this.#postQueued = false;
    const worker = this.#worker;
    if (!worker || this.#ended) return;
    if (this.#unreported > 0) {
      const m: RecorderCommand = { t: 'dropped', count: this.#unreported };
      if (this.#unreportedReason !== undefined) m.reason = this.#unreportedReason;
      worker.postMessage(m);
      this.#unreported = 0;
    }
    if (this.#pending.length === 0) return;
    const chars = this.#pendingChars;
    const records = this.#pendingRecords;
    Atomics.add(this.#inFlight, 0, chars);
    Atomics.add(this.#inFlight, 1, records);
    worker.postMessage({ t: 'items', items: this.#pending, chars, records } satisfies RecorderCommand);
    this.#pending = [];
    this.#pendingChars = 0;
    this.#pendingRecords = 0;
  }

  /** Sends a command after everything appended before it. */
  #send(m: RecorderCommand): void {
    this.#post();
    this.#worker?.postMessage(m);
  }

  /** A request answered once the recorder thread has handled everything before it (at once when there is none). */
  #ask(command: (id: number) => RecorderCommand): Promise<void> {
    if (!this.#worker || this.#ended) return Promise.resolve();
    const id = this.#nextId++;
    return new Promise<void>((resolve) => {
      this.#waiters.set(id, resolve);
      this.#send(command(id));
    });
  }

  #onReply(m: RecorderReply): void {
    this.#state = m.state;
    this.#noted = m.noted;
    switch (m.t) {
      case 'opened':
        this.#opened?.(m.error);
        this.#opened = undefined;
        return;
      case 'room':
      case 'flushed': {
        const resolve = this.#waiters.get(m.id);
        this.#waiters.delete(m.id);
        resolve?.();
        return;
      }
      case 'closed':
        this.#closedReply = true;
        // The thread ends on its own once its files are closed; a handle left behind must not keep it alive.
        setTimeout(() => void this.#worker?.terminate(), 2000).unref();
        return;
      case 'state':
        return;
    }
  }

  /** The recorder thread ended: nothing is answered any more, so release every waiter. */
  #onExit(): void {
    this.#ended = true;
    // What was handed over and not yet queued, and what waits here, is lost (the writer's own queue is lost too
    // when the thread died, and cannot be counted from here).
    this.#droppedHere += this.#pendingRecords + Atomics.load(this.#inFlight, 1);
    this.#unreported = 0;
    this.#pending = [];
    this.#pendingChars = 0;
    this.#pendingRecords = 0;
    Atomics.store(this.#inFlight, 0, 0);
    Atomics.store(this.#inFlight, 1, 0);
    Atomics.store(this.#inFlight, 2, 0);
    if (!this.#closedReply) {
      const reason = 'recorder thread ended';
      this.#state = { ...this.#state, paused: true, reason, queuedBytes: 0 };
      // Before the recording opened, open() reports it instead.
      if (this.#opened === undefined) this.#onFailure?.(reason);
    }
    this.#opened?.('recorder thread ended before the recording opened');
    this.#opened = undefined;
    for (const resolve of this.#waiters.values()) resolve();
    this.#waiters.clear();
    this.#closed?.();
  }
}
