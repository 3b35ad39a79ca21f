/** Downsamples per-second buckets into at most N chart points, so a one-hour window stays cheap to draw. */
import { BAD_VERDICTS, type BadVerdict, type RateBucket } from '@ctscope/shared';

/** One chart point: averages per second over the bin for events, totals for bad flows (per bad verdict). */
export type ChartPoint = { t: number; NEW: number; UPDATE: number; DESTROY: number } & Record<
  BadVerdict,
  number
>;

/** Bin width (a whole number of seconds) that keeps `spanMs` under `maxPoints`. */
export function binWidthMs(spanMs: number, maxPoints: number): number {
  return Math.max(1000, Math.ceil(spanMs / maxPoints / 1000) * 1000);
}

/** Points for [from, to], one per bin, empty bins included so gaps read as zero rather than interpolated. */
export function binTimeline(
  buckets: readonly RateBucket[],
  from: number,
  to: number,
  maxPoints = 240,
): ChartPoint[] {
  if (!(to > from)) return [];
  const width = binWidthMs(to - from, maxPoints);
  const start = Math.floor(from / width) * width;
  const n = Math.min(maxPoints + 2, Math.floor((to - start) / width) + 1);
  const points: ChartPoint[] = [];
  for (let i = 0; i < n; i++) {
    const bad = Object.fromEntries(BAD_VERDICTS.map((v) => [v, 0])) as Record<BadVerdict, number>;
    points.push({ t: start + i * width, NEW: 0, UPDATE: 0, DESTROY: 0, ...bad });
  }
  const perSecond = 1000 / width;
  for (const b of buckets) {
    if (b.t < start || b.t > to) continue;
    const p = points[Math.floor((b.t - start) / width)];
    if (!p) continue;
    p.NEW += b.events.NEW * perSecond;
    p.UPDATE += b.events.UPDATE * perSecond;
    p.DESTROY += b.events.DESTROY * perSecond;
    for (const v of BAD_VERDICTS) p[v] += b.bad[v] ?? 0;
  }
  return points;
}
