/**
 * Worker thread that owns the `conntrack -E` child and reads and splits its stdout, so that stalls of the main
 * thread (dumps, syncs, recording) never stop the reading: a full pipe would block conntrack, which would then
 * stop reading netlink and lose events. Lines go to the main thread in batches; the backlog is bounded and
 * accounted, and lines beyond it are dropped and reported (the main thread marks a gap and resyncs).
 */
// node:child_process rather than execa here: a fresh worker must start the tail fast (events sent before it
// subscribes are never seen), and loading execa into a new isolate took seconds on a loaded node. Argument
// arrays only, never a shell.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readlinkSync, rmSync } from 'node:fs';
import { type OnReadOpts, Socket, type SocketConstructorOpts } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parentPort, workerData } from 'node:worker_threads';
import { LineSplitter } from '@ctscope/shared';
import { bestNice } from '../node/nice-level.js';
import type {
  EventTailChunk,
  EventTailCommand,
  EventTailMessage,
  EventTailWorkerData,
} from './event-tail-messages.js';

const data = workerData as EventTailWorkerData;
const port = parentPort!;
const backlog = new Int32Array(data.backlog);
/**
 * conntrack flushes after every event, so reads can be small (always, on the anonymous pipe). Posting each read as a
 * message woke the main thread ~20k times a second at 10k new flows/s; lines are batched for up to BATCH_MS (or
 * BATCH_CHARS) instead. Each batch wakes the main thread and, through it, the recorder's: 25 ms rather than 10 saved
 * ~0.2 CPU-s of the node process per 10k/s × 10 s flood (3.8-3.9 s against 4.0-4.9, three alternating runs), and
 * the page, which refreshes a few times a second, cannot tell.
 */
const BATCH_MS = 25;
const BATCH_CHARS = 256 * 1024;
let batch: EventTailChunk[] = [];
let batchChars = 0;
let batchTimer: NodeJS.Timeout | undefined;

function flushBatch(): void {
  clearTimeout(batchTimer);
  batchTimer = undefined;
  if (batch.length === 0) return;
  port.postMessage({ t: 'lines', chunks: batch, chars: batchChars } satisfies EventTailMessage);
  batch = [];
  batchChars = 0;
}

/** Every other message first flushes the batched lines, so the main thread sees everything in read order. */
const post = (m: Exclude<EventTailMessage, { t: 'lines' }>): void => {
  flushBatch();
  port.postMessage(m);
};

/** This thread's id (Linux), so its nice level can be lowered without touching the main thread's. */
function threadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
}

/**
 * The reader must keep up with the listener, or the listener blocks on a full pipe: it gets the listener's
 * SCHED_FIFO when that is in force (it only reads, splits and posts, then sleeps in epoll), else the best nice level.
 */
async function prioritiseReader(): Promise<string> {
  const tid = threadId();
  if (tid === undefined) return 'default (no thread id)';
  if (data.readerFifo !== undefined) {
    const ok = await new Promise<boolean>((resolve) =>
      execFile('chrt', ['-f', '-p', String(data.readerFifo), String(tid)], { timeout: 5000 }, (err) =>
        resolve(!err),
      ),
    );
    if (ok) return `SCHED_FIFO ${data.readerFifo}`;
  }
  const nice = bestNice(tid);
  return nice === undefined ? 'default' : `nice ${nice}`;
}
/**
 * A named pipe read with pauses instead of an anonymous one read on every wakeup: conntrack writes each event on
 * its own, so a reader waiting in epoll woke (and ran the stream machinery) once per event, about 2.5 CPU-s per
 * 100k flows. Here a read that took little is followed by a pause, so the next one takes every line written
 * meanwhile; while it is empty the reader waits in epoll, so a quiet node costs no wakeups and the first event of
 * a burst is read at once. Both ends are opened here (the read end first and non-blocking, so neither open waits);
 * the child gets the write end, and the read end sees EOF when it exits. Undefined when one cannot be made (no
 * mkfifo, read-only tmp): then the anonymous pipe is read as before.
 */
function openNamedPipe(): { read: number; write: number } | undefined {
  let dir: string | undefined;
  const fds: number[] = [];
  try {
    dir = mkdtempSync(join(tmpdir(), 'ctscope-tail-'));
    const path = join(dir, 'events');
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore', timeout: 5000 });
    const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    fds.push(read);
    const write = openSync(path, constants.O_WRONLY);
    return { read, write };
  } catch {
    for (const fd of fds) closeSync(fd);
    return undefined;
  } finally {
    // Never throws: its descriptors are open by now, and nothing but this thread closes them.
    if (dir !== undefined) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // A directory left in tmp; the pipe works without it.
      }
    }
  }
}

const named = data.pollNamedPipe ? openNamedPipe() : undefined;
let child: ReturnType<typeof spawn>;
try {
  child = spawn(data.file, data.argv, { stdio: ['ignore', named?.write ?? 'pipe', 'pipe'] });
} catch (err) {
  // Descriptors are the process's, not this thread's: a spawn that threw must not leak the read end.
  if (named) closeSync(named.read);
  throw err;
} finally {
  // The child holds its own copy of the write end.
  if (named) closeSync(named.write);
}
let spawnError: NodeJS.ErrnoException | undefined;
const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
  child.once('error', (err) => {
    spawnError = err;
    resolve({ code: null, signal: null });
  });
  child.once('close', (code, signal) => resolve({ code, signal }));
});
if (child.pid !== undefined) port.postMessage({ t: 'pid', pid: child.pid } satisfies EventTailMessage);
const childNice = data.niceChild && child.pid !== undefined ? bestNice(child.pid) : undefined;
prioritiseReader().then((reader) =>
  post({ t: 'spawned', pid: child.pid, childNice, reader, pipe: named ? 'named' : 'anonymous' }),
);

const out = new LineSplitter({ maxLineLength: data.maxLineLength });
const err = new LineSplitter({ maxLineLength: 4096 });
let dropped = 0;
let droppedFrom = 0;
let reportTimer: NodeJS.Timeout | undefined;

/** Report dropped lines once the main thread has room again (checked on the next chunk, or by a timer when quiet). */
function reportDropped(at: number): void {
  if (dropped === 0) return;
  post({ t: 'backlog', at, from: droppedFrom, lines: dropped });
  dropped = 0;
  clearInterval(reportTimer);
  reportTimer = undefined;
}

function deliver(lines: string[], at: number): void {
  if (lines.length === 0) return;
  let chars = 0;
  for (const l of lines) chars += l.length + 1;
  if (Atomics.load(backlog, 0) + chars > data.maxBacklogChars) {
    if (dropped === 0) droppedFrom = at;
    dropped += lines.length;
    reportTimer ??= setInterval(() => {
      if (Atomics.load(backlog, 0) < data.maxBacklogChars / 2) reportDropped(Date.now());
    }, 50);
    return;
  }
  reportDropped(at);
  Atomics.add(backlog, 0, chars);
  batch.push({ at, lines });
  batchChars += chars;
  if (batchChars >= BATCH_CHARS) flushBatch();
  else batchTimer ??= setTimeout(flushBatch, BATCH_MS);
}

/**
 * Pauses between reads of the named pipe. The listener must never block on a full pipe (64 KiB): it then lost
 * events at once, its 64 MiB netlink buffer notwithstanding (pausing up to 100 ms on a quiet pipe gave an ENOBUFS
 * at the start of 4 of 4 floods at 10k/s; a fixed 5 ms pause gave 43 at 50k/s). So each pause is sized for about
 * TARGET_BYTES at the rate just seen (room for a fourfold surge), never longer than MAX_PAUSE_MS nor more than twice
 * the last one, and starts again from 1 ms when a read had to wait for data (a quiet spell ended). Under 1 ms the
 * next read follows at once.
 */
const TARGET_BYTES = 16 * 1024;
const MAX_PAUSE_MS = 3;
/** A pipe holds 64 KiB (Linux's default): a read that fills this buffer may have found the listener blocked. */
const readBuf = Buffer.allocUnsafe(64 * 1024);
const decoder = new StringDecoder('utf8');
let pauseTimer: NodeJS.Timeout | undefined;
let pauseMs = 1;
let lastDone = performance.now();
let resumedAt = performance.now();
let pipeSocket: Socket | undefined;
let listenerEnded = false;
let pipeEnded: () => void = () => {};
/** Resolves at the named pipe's EOF (the listener and every copy of its write end are gone) or its failure. */
const pipeDone = new Promise<void>((resolve) => {
  pipeEnded = resolve;
});

/** The pause before the next read, after one of `n` bytes that came `waited` ms after reading resumed. */
function nextPause(n: number, waited: number, done: number): number {
  if (n === readBuf.length) return 0;
  if (waited > 1) return 1;
  const sinceLast = Math.max(done - lastDone, 0.1);
  return Math.min(MAX_PAUSE_MS, pauseMs * 2, (TARGET_BYTES * sinceLast) / n);
}

/**
 * The named pipe as a libuv stream that stops after every read (`onread` returning false) and resumes after the
 * pause: one read per pause however many events were written, and epoll while it is empty.
 */
function readPipe(fd: number): void {
  // `onread` is honoured by the constructor too (Node ≥ 12), but typed only for connect().
  const options: SocketConstructorOpts & { onread: OnReadOpts } = {
    fd,
    readable: true,
    writable: false,
    onread: {
      buffer: readBuf,
      callback: (n: number) => {
        deliver(out.push(decoder.write(readBuf.subarray(0, n))), Date.now());
        const done = performance.now();
        pauseMs = Math.max(nextPause(n, done - resumedAt, done), 0.5);
        lastDone = done;
        const resume = (): void => {
          resumedAt = performance.now();
          pipe.resume();
        };
        if (pauseMs < 1) setImmediate(resume);
        else pauseTimer = setTimeout(resume, pauseMs);
        return false;
      },
    },
  };
  let pipe: Socket;
  try {
    pipe = new Socket(options);
  } catch (err) {
    // Nothing closes this thread's descriptors for it (the worker runs with trackUnmanagedFds off).
    closeSync(fd);
    throw err;
  }
  pipeSocket = pipe;
  let eof = false;
  pipe.once('end', () => {
    eof = true;
  });
  pipe.once('close', () => {
    // Closed without EOF (an error) while the listener runs: nothing would drain the pipe and the listener would
    // block for good. End it, so that the run fails, the source restarts and the gap is marked.
    if (!eof && !listenerEnded) {
      post({
        t: 'stderr',
        at: Date.now(),
        lines: ['ctscope: the named pipe from conntrack -E closed early'],
      });
      child.kill('SIGTERM');
    }
    pipeEnded();
  });
  pipe.once('error', () => pipe.destroy());
}

if (named) readPipe(named.read);
else {
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => deliver(out.push(chunk), Date.now()));
}
child.stderr?.setEncoding('utf8');
child.stderr?.on('data', (chunk: string) => {
  const lines = err.push(chunk);
  if (lines.length) post({ t: 'stderr', at: Date.now(), lines });
});

port.on('message', (m: EventTailCommand) => {
  if (m.t !== 'stop') return;
  child.kill('SIGTERM');
  // A child that ignores SIGTERM is killed for good after 2 s.
  setTimeout(() => child.kill('SIGKILL'), 2000).unref();
});

const r = await ended;
listenerEnded = true;
if (named) {
  // Everything the listener wrote, then EOF; a stray holder of the write end (none is expected) is not waited for.
  const waited = setTimeout(pipeEnded, 2000);
  await pipeDone;
  clearTimeout(waited);
  clearTimeout(pauseTimer);
  pipeSocket?.destroy();
  const rest = decoder.end();
  if (rest) deliver(out.push(rest), Date.now());
}
const at = Date.now();
deliver(out.flush(), at);
reportDropped(at);
const rest = err.flush();
if (rest.length) post({ t: 'stderr', at, lines: rest });
post({
  t: 'exit',
  exitCode: r.code ?? undefined,
  signal: r.signal ?? undefined,
  code: spawnError?.code,
  message: spawnError?.message,
});
port.close();
