/** Splits a dump chunk into what the recorder writes: runs of raw lines, and runs of quiet readings (`listed`). */
import type { ListedReading } from './recording-format.js';

export type DumpRun = { lines: string[] } | { listed: ListedReading[] };

/**
 * `lines` in order as runs: consecutive quiet lines (those with a reading, from `EngineCore.onDumpLines`) become
 * one `listed` run, the others stay raw lines. Order is kept, so a replay applies them as live did.
 */
export function quietRuns(
  lines: readonly string[],
  readings: ReadonlyArray<ListedReading | undefined>,
): DumpRun[] {
  const runs: DumpRun[] = [];
  let raw: string[] | undefined;
  let listed: ListedReading[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const r = readings[i];
    if (r) {
      raw = undefined;
      if (!listed) {
        listed = [];
        runs.push({ listed });
      }
      listed.push(r);
    } else {
      listed = undefined;
      if (!raw) {
        raw = [];
        runs.push({ lines: raw });
      }
      raw.push(lines[i]!);
    }
  }
  return runs;
}
