/** A recording read into memory, as both `ctscope replay` and the page's file replay hold it. */
import type { RecordingRecord } from './recording-format.js';

/** A whole recording, oldest record first. */
export interface LoadedRecording {
  records: RecordingRecord[];
  /** Lines that could not be read (a truncated last line after a crash is expected). */
  errors: Array<{ line: number; error: string /** Segment file, when read from disk. */; path?: string }>;
  /** Node name from the header. */
  node: string;
  netns?: string;
  /** Time of the first and last record, ms. */
  start: number;
  end: number;
}
