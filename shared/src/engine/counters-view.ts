/** Turns raw node counters into the client view and detects jumps worth a timeline marker. */

import type { NodeCounters } from './engine-input.js';
import type { TimelineMarker } from './marker-log.js';

/** Counters whose growth means packets were dropped or entries failed to insert. */
const WATCHED = ['insert_failed', 'drop', 'early_drop'] as const;

export function countersView(c: NodeCounters): CountersView {
  const fill = c.count !== undefined && c.max ? c.count / c.max : undefined;
  return { at: c.at, count: c.count, max: c.max, fill, stats: c.stats };
}

/** A marker per watched counter that grew since the previous reading. */
export function counterJumps(prev: CountersView | undefined, next: CountersView): TimelineMarker[] {
  if (!prev) return [];
  const out: TimelineMarker[] = [];
  for (const k of WATCHED) {
    const a = prev.stats[k];
    const b = next.stats[k];
    if (a !== undefined && b !== undefined && b > a) {
      out.push({ t: next.at, kind: 'counter-jump', text: `${k} +${b - a}` });
    }
  }
  return out;
}

/** Table fill and conntrack statistics. */
export interface CountersView {
  /** When read, ms. */
  at: number;
  /** Entries in the kernel table. */
  count?: number;
  /** nf_conntrack_max. */
  max?: number;
  /** count / max, 0..1. */
  fill?: number;
  /** Sums over CPUs from `conntrack -S`. */
  stats: Record<string, number>;
}
