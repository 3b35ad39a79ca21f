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
  for (let i = 1; i < observations.length; i++) {
    const a = observations[i - 1]!;
    const b = observations[i]!;
    if (!a.unreplied || !b.unreplied) continue;
    const elapsedS = (b.at - a.at) / 1000;
    // Below the tolerance a reset cannot be told from truncation noise.
    if (elapsedS <= toleranceS) continue;
    if (b.timeout > a.timeout - elapsedS + toleranceS) resets++;
  }
  return resets;
}

/** Kept alive: UNREPLIED now, and the timeout was reset at least once between readings. */
export function isKeptAlive(observations: readonly TimeoutObservation[], toleranceS?: number): boolean {
  const last = observations[observations.length - 1];
  if (!last || !last.unreplied) return false;
  return countTimeoutResets(observations, toleranceS) > 0;
}
