/** The numbers the header and the wall show, derived from the state (no extra server calls). */
import type { CountersView, FlowReport, RateBucket } from '@ctscope/shared';
import type { DashboardState } from './dashboard-state.js';

/** A critical flow as the banner lists it. */
export interface CriticalFlow {
  id: string;
  service?: string;
  flow: FlowReport;
}

/** Header and wall figures. */
export interface Kpis {
  /** Live flows whose severity is critical, worst first. */
  critical: FlowReport[];
  /** Services with at least one critical flow. */
  criticalServices: string[];
  /** Flows that turned bad in the last minute of data time. */
  badPerMinute: number;
  eventLoss: number;
  /** count / max, 0..1. */
  tableFill?: number;
  /** insert_failed growth per second between the last two readings. */
  insertFailedPerS?: number;
  /** drop growth per second between the last two readings. */
  dropPerS?: number;
}

/** Growth per second of one `conntrack -S` counter between two readings; undefined without two readings. */
export function counterRate(
  prev: CountersView | undefined,
  cur: CountersView | undefined,
  key: string,
): number | undefined {
  if (!prev || !cur) return undefined;
  const a = prev.stats[key];
  const b = cur.stats[key];
  const dt = (cur.at - prev.at) / 1000;
  if (a === undefined || b === undefined || dt <= 0) return undefined;
  return Math.max(0, (b - a) / dt);
}

/** Sum of bad-flow counts in buckets within the last `spanMs` before `now`. */
export function badInLast(timeline: readonly RateBucket[], now: number, spanMs: number): number {
  let n = 0;
  for (let i = timeline.length - 1; i >= 0; i--) {
    const b = timeline[i]!;
    if (b.t < now - spanMs) break;
    if (b.t > now) continue;
    for (const v of Object.values(b.bad)) n += v ?? 0;
  }
  return n;
}

/** All figures from one state. */
export function computeKpis(state: DashboardState): Kpis {
  const critical = [...state.critical.values()];
  critical.sort((a, b) => Number(b.keptAlive) - Number(a.keptAlive) || a.firstSeen - b.firstSeen);
  const services = [
    ...new Set(critical.map((f) => f.service ?? f.frontend ?? `${f.orig.dst}:${f.orig.dport}`)),
  ];
  return {
    critical,
    criticalServices: services,
    badPerMinute: badInLast(state.timeline, state.now, 60_000),
    eventLoss: state.eventLoss,
    tableFill: state.counters?.fill,
    insertFailedPerS: counterRate(state.prevCounters, state.counters, 'insert_failed'),
    dropPerS: counterRate(state.prevCounters, state.counters, 'drop'),
  };
}
