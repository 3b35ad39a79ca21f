/** Messages between the recorder thread (which owns the RecordingWriter) and the main thread. */
import type { RecordingWriterOptions, RecordingWriterState } from './recording-writer.js';

/** What the main thread gives the recorder thread. */
export interface RecorderWorkerData {
  /** The writer's options, without a clock: the recorder thread uses the wall clock. */
  options: Omit<RecordingWriterOptions, 'now'>;
  /** Int32Array[1] over this: chars posted to the recorder thread and not yet queued by its writer. */
  inFlight: SharedArrayBuffer;
}

/** One queued item: a serialised record (one NDJSON line), or a run of dump lines serialised as they are written. */
export type RecorderItem = string | { t: number; src: 'dump' | 'poll'; lines: readonly string[] };

/** Main → recorder thread. Handled in order, so every reply covers everything sent before it. */
export type RecorderCommand =
  | { t: 'open' }
  /** `chars`: what these items added to the in-flight count. */
  | { t: 'items'; items: RecorderItem[]; chars: number }
  /** Records the main thread dropped (the recorder thread was too far behind, or paused). */
  | { t: 'dropped'; count: number; reason: string }
  | { t: 'room'; id: number; bytes: number }
  | { t: 'flush'; id: number }
  | { t: 'close' };

/**
 * Recorder thread → main. Each carries the writer's state after the step it answers, and `noted`: the records the
 * main thread reported dropped so far, which the writer's `dropped` includes.
 */
export type RecorderReply = { state: RecordingWriterState; noted: number } & (
  | { t: 'opened'; error?: string }
  | { t: 'state' }
  | { t: 'room'; id: number }
  | { t: 'flushed'; id: number }
  | { t: 'closed' }
);
