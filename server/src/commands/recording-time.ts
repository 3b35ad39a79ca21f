/** Parses the times post-mortem commands take: ISO 8601 (`2026-11-01T00:05:00Z`) or ms since the epoch. */

/** ms since the epoch, or an Error naming the flag. */
export function parseRecordingTime(flag: string, value: string): number | Error {
  const v = value.trim();
  if (/^\d{10,16}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (!Number.isFinite(t) || !/^\d{4}-\d{2}-\d{2}/.test(v))
    return new Error(
      `${flag} must be an ISO time (2026-11-01T00:05:00Z) or ms since the epoch, got "${value}"`,
    );
  return t;
}
