/**
 * Recorder thread: owns the RecordingWriter, so compression and writes go on while the main thread is busy.
 * In the main thread they waited for turns of the event loop, which a flood's event batches leave few of, and the
 * queue of serialised records grew to tens of MiB.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { RecorderCommand, RecorderReply, RecorderWorkerData } from './recorder-messages.js';
import { RecordingWriter, type RecordingWriterState } from './recording-writer.js';

const data = workerData as RecorderWorkerData;
const port = parentPort!;
const inFlight = new Int32Array(data.inFlight);
const writer = new RecordingWriter(data.options);
/** Records the main thread reported dropped (see RecorderReply). */
let noted = 0;
type Reply = RecorderReply extends infer R ? (R extends unknown ? Omit<R, 'noted'> : never) : never;
const reply = (m: Reply): void => port.postMessage({ ...m, noted } as RecorderReply);

/** The state last sent, so the periodic report only goes out when something changed. */
let sent = '';
function state(): RecordingWriterState {
  const s = writer.state();
  sent = JSON.stringify(s);
  return s;
}
const report = setInterval(() => {
  const s = writer.state();
  const text = JSON.stringify(s);
  if (text === sent) return;
  sent = text;
  reply({ t: 'state', state: s });
}, 100);

port.on('message', (m: RecorderCommand) => {
  switch (m.t) {
    case 'open':
      writer.open().then(
        () => reply({ t: 'opened', state: state() }),
        (err: Error) => reply({ t: 'opened', state: state(), error: err.message }),
      );
      return;
    case 'items':
      for (const item of m.items) {
        if (typeof item === 'string') writer.appendSerialized(item);
        else writer.appendLines(item.t, item.src, item.lines);
      }
      Atomics.sub(inFlight, 0, m.chars);
      return;
    case 'dropped':
      writer.noteDropped(m.count, m.reason);
      noted += m.count;
      return;
    case 'room':
      void writer.roomFor(m.bytes).then(() => reply({ t: 'room', id: m.id, state: state() }));
      return;
    case 'flush':
      void writer.flush().then(() => reply({ t: 'flushed', id: m.id, state: state() }));
      return;
    case 'close':
      void writer.close().then(() => {
        clearInterval(report);
        reply({ t: 'closed', state: state() });
        port.close();
      });
      return;
  }
});
