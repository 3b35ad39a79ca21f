/** Pure view logic of the fleet wall: the health banner, the summary, and the timeline's chart rows. */
import type { FleetNode, FleetSnapshot } from '@ctscope/shared';
import type { FleetState } from './fleet-store.js';

export type BannerLevel = 'ok' | 'warn' | 'crit';

/** What the data-source banner says: Prometheus or the fleet server down/slow, with the age of what is shown. */
export function sourceBanner(
  s: FleetState,
  now: number,
): { level: BannerLevel; state: string; text: string } {
  const snap = s.snapshot;
  const dataAge = snap?.prometheus.lastOkAt
    ? ` · showing data from ${Math.round((now - snap.prometheus.lastOkAt) / 1000)} s ago`
    : '';
  if (s.server === 'unreachable')
    return {
      level: 'crit',
      state: 'server-down',
      text: `fleet server unreachable (${s.serverError ?? 'no answer'})${dataAge}`,
    };
  if (!snap) return { level: 'warn', state: 'connecting', text: 'connecting…' };
  const p = snap.prometheus;
  if (p.state === 'down')
    return {
      level: 'crit',
      state: 'prometheus-down',
      text: `Prometheus down: ${p.error ?? 'no answer'}${dataAge}`,
    };
  if (p.state === 'slow')
    return { level: 'warn', state: 'prometheus-slow', text: `Prometheus slow: ${p.error ?? ''}` };
  if (s.paused) return { level: 'warn', state: 'paused', text: 'paused while the tab is hidden' };
  return { level: 'ok', state: 'ok', text: `Prometheus ok · ${p.latencyMs ?? 0} ms` };
}

export interface FleetSummary {
  nodes: number;
  critical: number;
  down: number;
  warning: number;
  criticalFlows: number;
}

export function summarize(nodes: readonly FleetNode[]): FleetSummary {
  const s: FleetSummary = { nodes: nodes.length, critical: 0, down: 0, warning: 0, criticalFlows: 0 };
  for (const n of nodes) {
    if (n.status === 'critical') s.critical++;
    else if (n.status === 'down') s.down++;
    else if (n.status === 'warning') s.warning++;
    s.criticalFlows += n.critical;
  }
  return s;
}

/** Lines drawn on the timeline: the worst `max` nodes by name, plus "other nodes" summed when there are more. */
export const OTHER_NODES = 'other nodes';

/** Recharts rows `{t, [node]: count}` for the worst `max` nodes (the snapshot's order) and the rest summed. */
export function timelineRows(
  snap: Pick<FleetSnapshot, 'nodes' | 'timeline'>,
  max = 8,
): { series: string[]; rows: Array<Record<string, number>> } {
  const shown = snap.nodes.slice(0, max).map((n) => n.node);
  const shownSet = new Set(shown);
  const hasOther = snap.nodes.length > max;
  const rows = snap.timeline.points.map((p) => {
    const row: Record<string, number> = { t: p.t };
    let other = 0;
    for (const [node, v] of Object.entries(p.bad)) {
      if (shownSet.has(node)) row[node] = v;
      else other += v;
    }
    if (hasOther) row[OTHER_NODES] = other;
    return row;
  });
  return { series: hasOther ? [...shown, OTHER_NODES] : shown, rows };
}
