/** `ctscope export --recording DIR --from T1 --to T2 -o FILE`: a small, replayable slice of a recording for a ticket. */

import { exportSlice } from '../recording/export-slice.js';
import { IndexedRecording } from '../recording/indexed-recording.js';
import { EXIT_OK, EXIT_USAGE, type Io } from './analyze.js';
import { parseRecordingTime } from './recording-time.js';

export interface ExportOptions {
  recording: string;
  from: string;
  to: string;
  output: string;
}

export async function runExport(opts: ExportOptions, io: Io, version: string): Promise<number> {
  const usage = (m: string) => {
    io.err(`ctscope export: ${m}\n`);
    return EXIT_USAGE;
  };
  const from = parseRecordingTime('--from', opts.from);
  if (from instanceof Error) return usage(from.message);
  const to = parseRecordingTime('--to', opts.to);
  if (to instanceof Error) return usage(to.message);
  if (to < from) return usage('--to is before --from');
  let rec: IndexedRecording;
  try {
    rec = await IndexedRecording.open(opts.recording);
  } catch (err) {
    return usage(`cannot read --recording ${opts.recording}: ${(err as Error).message}`);
  }
  if (to < rec.start || from > rec.end)
    return usage(
      `the window is outside the recording (${new Date(rec.start).toISOString()} to ${new Date(rec.end).toISOString()})`,
    );
  try {
    const r = await exportSlice(rec, from, to, opts.output, `ctscope ${version} export`);
    io.err(`ctscope export: ${r.records} records, ${r.bytes} bytes (gzip) to ${opts.output}\n`);
    return EXIT_OK;
  } catch (err) {
    return usage(`cannot write ${opts.output}: ${(err as Error).message}`);
  }
}
