/** Bounded per-flow log of auto-remedy actions and decisions, with counts by result (live and replay alike). */
import { AUTO_REMEDY_RESULTS, type AutoRemedyAction, type AutoRemedyResult } from '../wire/protocol.js';

export class RemedyLog {
  private readonly byFlow = new Map<string, AutoRemedyAction[]>();
  private readonly counts = Object.fromEntries(AUTO_REMEDY_RESULTS.map((r) => [r, 0])) as Record<
    AutoRemedyResult,
    number
  >;

  constructor(
    private readonly maxFlows = 5000,
    private readonly perFlow = 16,
  ) {}

  add(a: AutoRemedyAction): void {
    this.counts[a.result]++;
    const list = this.byFlow.get(a.flowId) ?? [];
    list.push(a);
    if (list.length > this.perFlow) list.shift();
    // Re-insert so the Map's order is least recently acted on first; the oldest flow goes when full.
    this.byFlow.delete(a.flowId);
    this.byFlow.set(a.flowId, list);
    if (this.byFlow.size > this.maxFlows) this.byFlow.delete(this.byFlow.keys().next().value!);
  }

  /** Actions for one flow, oldest first. */
  forFlow(flowId: string): AutoRemedyAction[] {
    return [...(this.byFlow.get(flowId) ?? [])];
  }

  /** Actions since start, by result. */
  totals(): Record<AutoRemedyResult, number> {
    return { ...this.counts };
  }
}
