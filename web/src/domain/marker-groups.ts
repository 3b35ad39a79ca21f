/**
 * Folds timeline markers for drawing: a flood brings dozens of identical gap markers in a few seconds, and one
 * chart line or list entry each made the chart unreadable and costly to lay out.
 */
import type { TimelineMarker } from '@ctscope/shared';

/** One or more markers of one kind (and, for lists, one text) shown as one. */
export interface MarkerGroup {
  /** Time of the first marker in the group, ms. */
  t: number;
  /** Time of the last marker in the group, ms. */
  last: number;
  kind: TimelineMarker['kind'];
  /** Text of the first marker. */
  text: string;
  count: number;
}

/**
 * Chart lines: markers of one kind within `binMs` of a group's first marker join it (input oldest first).
 * Keeps the newest `max` groups.
 */
export function groupMarkersByBin(
  markers: readonly TimelineMarker[],
  binMs: number,
  max: number,
): MarkerGroup[] {
  const open = new Map<TimelineMarker['kind'], MarkerGroup>();
  const out: MarkerGroup[] = [];
  for (const m of markers) {
    const g = open.get(m.kind);
    if (g && m.t - g.t < binMs) {
      g.count++;
      g.last = m.t;
      continue;
    }
    const next: MarkerGroup = { t: m.t, last: m.t, kind: m.kind, text: m.text, count: 1 };
    open.set(m.kind, next);
    out.push(next);
  }
  return out.length > max ? out.slice(out.length - max) : out;
}

/** List entries: runs of consecutive markers with the same kind and text become one (input oldest first). */
export function groupMarkerRuns(markers: readonly TimelineMarker[]): MarkerGroup[] {
  const out: MarkerGroup[] = [];
  for (const m of markers) {
    const g = out[out.length - 1];
    if (g && g.kind === m.kind && g.text === m.text) {
      g.count++;
      g.last = m.t;
    } else out.push({ t: m.t, last: m.t, kind: m.kind, text: m.text, count: 1 });
  }
  return out;
}
