/** Turns the held flows into the table's rows: filter (the server's own matcher), time window, then sort. */
import {
  compareReports,
  type FlowFilter,
  type FlowReport,
  matchesFilter,
  SEVERITY_RANK,
} from '@ctscope/shared';
import { expiresInS, flowAgeMs, formatOrig, formatReply } from './format.js';
import type { SortState } from './url-state.js';

/** A concrete [from, to] range, ms. */
export interface TimeRange {
  from: number;
  to: number;
}

/** Alive at some point in the range: created (or first seen) before its end and not destroyed before its start. */
export function aliveIn(f: FlowReport, r: TimeRange): boolean {
  return (f.createdAt ?? f.firstSeen) <= r.to && (f.destroyedAt ?? Number.POSITIVE_INFINITY) >= r.from;
}

function comparator(sort: SortState, now: number): (a: FlowReport, b: FlowReport) => number {
  const by = (key: (f: FlowReport) => number | string) => (a: FlowReport, b: FlowReport) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
  switch (sort.key) {
    case 'worst':
      return compareReports;
    case 'orig':
      return by(formatOrig);
    case 'reply':
      return by(formatReply);
    case 'service':
      return by((f) => f.service ?? '\uffff');
    case 'verdict':
      return (a, b) =>
        SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
        (a.verdict < b.verdict ? -1 : a.verdict > b.verdict ? 1 : 0);
    case 'age':
      return by((f) => flowAgeMs(f, now));
    case 'expires':
      return by((f) => (f.keptAlive ? Number.MAX_SAFE_INTEGER : (expiresInS(f, now) ?? -1)));
    case 'kept':
      return by((f) => (f.keptAlive ? 0 : 1));
  }
}

/** Rows to show, in display order. Ties keep the worst-first order so equal rows do not jump around. */
export function selectRows(
  flows: ReadonlyMap<string, FlowReport> | Iterable<FlowReport>,
  filter: FlowFilter,
  range: TimeRange | undefined,
  sort: SortState,
  now: number,
): FlowReport[] {
  const out: FlowReport[] = [];
  const values = flows instanceof Map ? flows.values() : (flows as Iterable<FlowReport>);
  for (const f of values) {
    if (!matchesFilter(f, filter)) continue;
    if (range && !aliveIn(f, range)) continue;
    out.push(f);
  }
  const cmp = comparator(sort, now);
  const dir = sort.dir === 'desc' ? -1 : 1;
  out.sort((a, b) => dir * cmp(a, b) || compareReports(a, b));
  return out;
}
