/** Detects UNREPLIED entries whose timeout keeps being reset by a client (design.md §2: refreshes emit no events). */
import type { TimeoutObservation } from './verdict-types.js';

/** Seconds of slack for integer-truncated timeouts and poll jitter. */
export const DEFAULT_RESET_TOLERANCE_S = 1.5;

/**
 * Counts readings where the timeout is higher than the previous reading minus the elapsed time, i.e. the
 * kernel refreshed the entry in between. Only pairs where both readings were UNREPLIED count, because an
 * answered entry being refreshed is normal traffic.
 */
export function countTimeoutResets(
  observations: readonly TimeoutObservation[],
  toleranceS: number = DEFAULT_RESET_TOLERANCE_S,
): number {
  let resets = 0;
  let a: TimeoutObservation | undefined;
  for (const b of observations) {
    if (b.timeout === undefined || b.event === 'DESTROY') continue;
    if (a?.timeout !== undefined && a.unreplied && b.unreplied) {
      const elapsedS = (b.at - a.at) / 1000;
      // Below the tolerance a reset cannot be told from truncation noise.
      if (elapsedS > toleranceS && b.timeout > a.timeout - elapsedS + toleranceS) resets++;
    }
    a = b;
  }
  return resets;
}

/** Kept alive: UNREPLIED at the latest reading, and the timeout was reset at least once between readings. */
export function isKeptAlive(observations: readonly TimeoutObservation[], toleranceS?: number): boolean {
  for (let i = observations.length - 1; i >= 0; i--) {
    const last = observations[i]!;
    if (last.timeout === undefined || last.event === 'DESTROY') continue;
    return last.unreplied && countTimeoutResets(observations, toleranceS) > 0;
  }
  return false;
}
