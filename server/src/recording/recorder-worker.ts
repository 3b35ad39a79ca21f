/**
 * Recorder thread: owns the RecordingWriter, so compression and writes go on while the main thread is busy.
 * In the main thread they waited for turns of the event loop, which a flood's event batches leave few of, and the
 * queue of serialised records grew to tens of MiB.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type {
  RecorderCommand,
  RecorderItem,
  RecorderReply,
  RecorderWorkerData,
} from './recorder-messages.js';
import { RecordingWriter } from './recording-writer.js';

const data = workerData as RecorderWorkerData;
const port = parentPort!;
const inFlight = new Int32Array(data.inFlight);
const writer = new RecordingWriter({ ...data.options, onProgress: () => publishQueued() });
/** Records the main thread reported dropped (see RecorderReply). */
let noted = 0;
/** The state last sent, so the periodic report only goes out when something changed. */
let sent = '';

type Reply = RecorderReply extends infer R ? (R extends unknown ? Omit<R, 'state' | 'noted'> : never) : never;
function reply(m: Reply): void {
  publishQueued();
  const state = writer.state();
  sent = JSON.stringify(state);
  port.postMessage({ ...m, state, noted } as RecorderReply);
}

const report = setInterval(() => {
  if (JSON.stringify(writer.state()) !== sent) reply({ t: 'state' });
}, 100);

/** The writer's queue size for the main thread's bound: after every batch written, drop, intake and reply. */
function publishQueued(): void {
  Atomics.store(inFlight, 2, Math.min(writer.state().queuedBytes, 0x7fffffff));
}

function take(item: RecorderItem): void {
  if ('text' in item) writer.appendSerialized(item.text, item.records);
  else if ('lines' in item) writer.appendLines(item.t, item.src, item.lines);
  else if (item.dump === 'begin') writer.dumpBegin(item.scope, item.startedAt);
  else writer.dumpEnd(item.scope, item.at, item.startedAt);
}

/** Settles once `open` has: `close` waits for it, so a segment is never created after the writer closed. */
let opening: Promise<unknown> = Promise.resolve();

port.on('message', (m: RecorderCommand) => {
  switch (m.t) {
    case 'open':
      opening = writer.open().then(
        () => reply({ t: 'opened' }),
        (err: Error) => reply({ t: 'opened', error: err.message }),
      );
      return;
    case 'items':
      for (const item of m.items) take(item);
      publishQueued();
      Atomics.sub(inFlight, 0, m.chars);
      Atomics.sub(inFlight, 1, m.records);
      return;
    case 'dropped':
      writer.noteDropped(m.count, m.reason);
      noted += m.count;
      return;
    case 'room':
      void writer.roomFor(m.bytes).then(() => reply({ t: 'room', id: m.id }));
      return;
    case 'flush':
      void writer.flush().then(() => reply({ t: 'flushed', id: m.id }));
      return;
    case 'close':
      void opening
        .then(() => writer.close())
        .then(() => {
          clearInterval(report);
          publishQueued();
          reply({ t: 'closed' });
          port.close();
        });
      return;
  }
});
