/** A dropped recording's outline (density per minute, NAT changes, first bad flow), from one replay in memory. */
import {
  type LoadedRecording,
  OutlineBuilder,
  type RecordingOutline,
  RecordingPlayer,
} from '@ctscope/shared';

export function outlineOfRecording(rec: LoadedRecording): RecordingOutline {
  const player = new RecordingPlayer();
  const b = new OutlineBuilder();
  for (const r of rec.records) b.feed(player, r);
  b.closeMinute(player);
  return b.outline(rec.start, rec.end, rec.records.length, 0);
}
