/**
 * Live flows counted by verdict, severity and service, kept up to date as flows are judged, destroyed and dropped:
 * the stats a page, `/api/stats` or a Prometheus scrape reads each second cost nothing, where a pass over a
 * 250k-flow table cost ~25 ms of the main thread each time (and the flood's own work waited behind it).
 */
import type { Classification } from '../verdict/verdict-types.js';
import { countBySeverity, countByVerdict, type Severity, type Verdict } from '../verdict/verdicts.js';

/** What one flow adds to the tally: its verdict while it is live, nothing once destroyed. */
export interface TallyEntry {
  /** The classification this flow is counted under now (undefined: not counted). */
  counted?: Classification;
}

export class FlowTally {
  live = 0;
  readonly byVerdict: Record<Verdict, number> = countByVerdict();
  readonly bySeverity: Record<Severity, number> = countBySeverity();
  /** Bad live flows per service ('' when the service is unknown); a service leaves the map at zero. */
  readonly badByService = new Map<string, { critical: number; warning: number }>();

  /** Count `flow` under `now` (undefined: not at all), taking back what it was counted under before. */
  set(flow: TallyEntry, now: Classification | undefined): void {
    const was = flow.counted;
    if (was === now) return;
    if (was) this.add(was, -1);
    if (now) this.add(now, 1);
    flow.counted = now;
  }

  clear(): void {
    this.live = 0;
    for (const k of Object.keys(this.byVerdict) as Verdict[]) this.byVerdict[k] = 0;
    for (const k of Object.keys(this.bySeverity) as Severity[]) this.bySeverity[k] = 0;
    this.badByService.clear();
  }

  private add(v: Classification, n: 1 | -1): void {
    this.live += n;
    this.byVerdict[v.verdict] += n;
    this.bySeverity[v.severity] += n;
    if (v.severity === 'ok') return;
    const key = v.service ?? '';
    const s = this.badByService.get(key) ?? { critical: 0, warning: 0 };
    s[v.severity] += n;
    if (s.critical === 0 && s.warning === 0) this.badByService.delete(key);
    else this.badByService.set(key, s);
  }
}
