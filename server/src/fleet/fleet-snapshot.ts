/** Pure: turns the fixed queries' answers into fleet tiles (worst first) and the per-node timeline. */
import type { FleetNode, FleetNodeStatus, FleetTimeline } from '@ctscope/shared';
import { FLEET_MAX_NODES } from '../config.js';
import { fillNodeUrl } from './node-url.js';
import type { RangeSeries, VectorSample } from './prometheus-client.js';

/** The answers of FLEET_QUERIES, by key. */
export interface FleetReadings {
  up: VectorSample[];
  critical: VectorSample[];
  warning: VectorSample[];
  eventLoss: VectorSample[];
  tableFill: VectorSample[];
  alerts: VectorSample[];
}

const STATUS_RANK: Record<FleetNodeStatus, number> = { critical: 0, down: 1, warning: 2, ok: 3 };
/** Table fill from which a node counts as a warning (the alert's threshold). */
const FILL_WARNING = 0.9;

const nodeOf = (s: VectorSample): string => s.metric.node ?? s.metric.instance ?? '';
const finite = (n: number): number => (Number.isFinite(n) ? n : 0);

/** A node's overall state from its numbers. */
export function nodeStatus(n: Omit<FleetNode, 'status' | 'url' | 'node' | 'instance'>): FleetNodeStatus {
  if (n.critical > 0) return 'critical';
  if (!n.up) return 'down';
  if (n.warning > 0 || n.eventLoss > 0 || n.alerts > 0 || (n.tableFill ?? 0) > FILL_WARNING) return 'warning';
  return 'ok';
}

/** Worst first: status, then critical, warning, event loss, table fill; then by name. */
export function compareNodes(a: FleetNode, b: FleetNode): number {
  return (
    STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
    b.critical - a.critical ||
    b.warning - a.warning ||
    b.eventLoss - a.eventLoss ||
    (b.tableFill ?? 0) - (a.tableFill ?? 0) ||
    a.node.localeCompare(b.node)
  );
}

/** Every node any query names, one tile each, worst first, at most FLEET_MAX_NODES. */
export function buildFleetNodes(r: FleetReadings, nodeUrlTemplate: string): FleetNode[] {
  const byNode = new Map<string, Omit<FleetNode, 'status' | 'url'>>();
  const get = (node: string) => {
    let n = byNode.get(node);
    if (!n) {
      n = {
        node,
        instance: '',
        up: false,
        critical: 0,
        warning: 0,
        eventLoss: 0,
        tableFill: null,
        alerts: 0,
      };
      byNode.set(node, n);
    }
    return n;
  };
  const seenUp = new Set<string>();
  for (const s of r.up) {
    const n = get(nodeOf(s));
    // Two targets with one node label: the node is up only when both are.
    n.up = (seenUp.has(n.node) ? n.up : true) && s.value === 1;
    seenUp.add(n.node);
    n.instance ||= s.metric.instance ?? '';
  }
  for (const s of r.critical) get(nodeOf(s)).critical = finite(s.value);
  for (const s of r.warning) get(nodeOf(s)).warning = finite(s.value);
  for (const s of r.eventLoss) get(nodeOf(s)).eventLoss = Math.round(finite(s.value) * 100) / 100;
  for (const s of r.tableFill) get(nodeOf(s)).tableFill = Number.isFinite(s.value) ? s.value : null;
  for (const s of r.alerts) get(nodeOf(s)).alerts = finite(s.value);
  return [...byNode.values()]
    .filter((n) => n.node !== '')
    .map((n) => ({
      ...n,
      status: nodeStatus(n),
      url: n.instance ? fillNodeUrl(nodeUrlTemplate, n) : null,
    }))
    .sort(compareNodes)
    .slice(0, FLEET_MAX_NODES);
}

/** One point per step with each node's count (nodes without a sample at that step are left out). */
export function buildTimeline(series: RangeSeries[], stepMs: number): FleetTimeline {
  const points = new Map<number, Record<string, number>>();
  for (const s of series) {
    const node = s.metric.node ?? s.metric.instance;
    if (!node) continue;
    for (const [t, v] of s.values) {
      if (!Number.isFinite(v)) continue;
      const p = points.get(t) ?? {};
      p[node] = v;
      points.set(t, p);
    }
  }
  return {
    stepMs,
    points: [...points.entries()].sort(([a], [b]) => a - b).map(([t, bad]) => ({ t, bad })),
  };
}
