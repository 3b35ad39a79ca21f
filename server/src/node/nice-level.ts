/** Nice levels for node commands and threads that must not queue behind ctscope's own work for the CPU. */
import { setPriority } from 'node:os';

/** Nice levels tried, best first, when nothing says otherwise (the listener without SCHED_FIFO). */
export const NICE_LEVELS: readonly number[] = [-20, -15, -10, -5, -1];

/**
 * Lower the nice level of process (or, on Linux, thread) `id` as far as allowed. Returns the level reached,
 * or undefined when not even the mildest is allowed (no CAP_SYS_NICE and no RLIMIT_NICE headroom), or the
 * process has already exited.
 */
export function bestNice(id: number, levels: readonly number[] = NICE_LEVELS): number | undefined {
  for (const level of levels) {
    try {
      setPriority(id, level);
      return level;
    } catch {
      // EACCES/EPERM: try a milder level.
    }
  }
  return undefined;
}
