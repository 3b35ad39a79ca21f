/** Bad-flow counts per service frontend, for the services view. */
import type { FlowReport, Verdict } from '@ctscope/shared';

/** Flow counts of one frontend. */
export interface ServiceCounts {
  /** Live flows per verdict. */
  byVerdict: Partial<Record<Verdict, number>>;
  /** Live flows with a bad verdict. */
  bad: number;
  critical: number;
  keptAlive: number;
  total: number;
}

/** Counts keyed by frontend key (`proto|ip|port`); destroyed flows are not counted. */
export function countByFrontend(flows: Iterable<FlowReport>): Map<string, ServiceCounts> {
  const out = new Map<string, ServiceCounts>();
  for (const f of flows) {
    if (!f.frontend || f.destroyedAt !== undefined) continue;
    let c = out.get(f.frontend);
    if (!c) {
      c = { byVerdict: {}, bad: 0, critical: 0, keptAlive: 0, total: 0 };
      out.set(f.frontend, c);
    }
    c.total++;
    c.byVerdict[f.verdict] = (c.byVerdict[f.verdict] ?? 0) + 1;
    if (f.severity !== 'ok') c.bad++;
    if (f.severity === 'critical') c.critical++;
    if (f.keptAlive) c.keptAlive++;
  }
  return out;
}
