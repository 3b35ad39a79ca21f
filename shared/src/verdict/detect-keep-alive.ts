/** Detects UNREPLIED entries whose timeout keeps being reset by a client (refreshing a timeout emits no conntrack event, so only repeated readings show it). */
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
  for (let i = 0; i < observations.length; i++) {
    const b = observations[i]!;
    if (!isReading(b) || !b.unreplied) continue;
    // Compare with the latest earlier reading far enough back to tell a reset from truncation noise, so
    // polls closer together than the tolerance still detect resets (against the reading before last).
    for (let j = i - 1; j >= 0; j--) {
      const a = observations[j]!;
      if (!isReading(a)) continue;
      const elapsedS = (b.at - a.at) / 1000;
      if (elapsedS <= toleranceS) continue;
      if (a.unreplied && b.timeout! > a.timeout! - elapsedS + toleranceS) resets++;
      break;
    }
  }
  return resets;
}

function isReading(o: TimeoutObservation): boolean {
  return o.timeout !== undefined && o.event !== 'DESTROY';
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
