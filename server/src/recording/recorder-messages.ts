/** Messages between the recorder thread (which owns the RecordingWriter) and the main thread. */
import type { RecLine } from '@ctscope/shared';
import type { RecordingWriterOptions, RecordingWriterState } from './recording-writer.js';

/** What the main thread gives the recorder thread. */
export interface RecorderWorkerData {
  /** The writer's options, without a clock (the recorder thread uses the wall clock) or callbacks. */
  options: Omit<RecordingWriterOptions, 'now' | 'onProgress'>;
  /**
   * Int32Array[3] over this: chars [0] and records [1] posted to the recorder thread and not yet queued by its
   * writer (the main thread adds, the recorder thread subtracts), and [2] the bytes in the writer's queue (the
   * recorder thread stores it after every batch written, drop and intake, before it subtracts what it took from [0]).
   */
  inFlight: SharedArrayBuffer;
}

/**
 * One queued item: serialised records (NDJSON, `records` lines: consecutive records travel as one string, which
 * is copied to the other thread in one piece), a run of dump lines serialised as they are written, or a dump
 * run's `begin`/`end` (the writer knows whether a run's `begin` reached its queue).
 */
export type RecorderItem =
  | { text: string; records: number }
  | { t: number; src: RecLine['src']; lines: readonly string[] }
  | { dump: 'begin'; scope: 'full' | 'poll'; startedAt: number }
  | { dump: 'end'; scope: 'full' | 'poll'; at: number; startedAt: number };

/** Main → recorder thread. Handled in order, so every reply covers everything sent before it. */
export type RecorderCommand =
  | { t: 'open' }
  /** `chars` and `records`: what these items added to the in-flight counts. */
  | { t: 'items'; items: RecorderItem[]; chars: number; records: number }
  /** Records the main thread dropped (`reason` opens a hole in the recording, as the writer's own drops do). */
  | { t: 'dropped'; count: number; reason?: string }
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
