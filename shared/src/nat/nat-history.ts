/** Picks the NAT snapshot that was in force at a given time from a time-ordered history. */
import type { NatSnapshot } from './nat-types.js';

/**
 * Latest snapshot with takenAt <= at (ties: the later one in the list). Undefined when `at` precedes every
 * snapshot or no snapshot has a time, since then nothing is known about the rules at that moment.
 */
export function snapshotAt(history: readonly NatSnapshot[], at: number): NatSnapshot | undefined {
  let found: NatSnapshot | undefined;
  for (const s of history) {
    if (s.takenAt !== undefined && s.takenAt <= at) found = s;
  }
  return found;
}
