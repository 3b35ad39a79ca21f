/** Reads a recording (NDJSON, docs in shared/src/recording/recording-format.ts) into time-ordered records, in the browser. */
import {
  type LoadedRecording,
  parseRecordingLine,
  RECORDING_FORMAT_VERSION,
  type RecordingRecord,
} from '@ctscope/shared';

/** Parse a whole recording. Throws only when nothing in it is a record, or its format is newer than ours. */
export function parseRecordingText(text: string, maxErrors = 100): LoadedRecording {
  const records: RecordingRecord[] = [];
  const errors: LoadedRecording['errors'] = [];
  let node = 'recording';
  let netns: string | undefined;
  let lineNo = 0;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl);
    pos = nl + 1;
    lineNo++;
    if (line.trim() === '') continue;
    const r = parseRecordingLine(line);
    if ('error' in r) {
      if (errors.length < maxErrors) errors.push({ line: lineNo, error: r.error });
      continue;
    }
    if (r.k === 'header') {
      if (Math.floor(r.v) > RECORDING_FORMAT_VERSION) {
        throw new Error(
          `recording format v${r.v} is newer than this page understands (v${RECORDING_FORMAT_VERSION})`,
        );
      }
      node = r.node;
      netns = r.netns;
    }
    records.push(r);
  }
  if (records.length === 0)
    throw new Error(errors[0] ? `no records (line ${errors[0].line}: ${errors[0].error})` : 'no records');
  // Stable sort: segments are concatenated oldest first, but sources may interleave slightly.
  records.sort((a, b) => a.t - b.t);
  return { records, errors, node, netns, start: records[0]!.t, end: records[records.length - 1]!.t };
}
