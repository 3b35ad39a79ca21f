/** Auto-remedy's vocabulary, and the bounded per-flow log of its actions with counts by result (live and replay). */
import type { Severity, Verdict } from '../verdict/verdicts.js';

/** `ctscope serve --auto-remedy`: off, on, or on without deleting (`--auto-remedy-dry-run`). */
export type AutoRemedyMode = 'off' | 'on' | 'dry-run';

/**
 * What auto-remedy did, or decided not to do, for one flow: `deleted`; `would-delete` (dry-run); `failed` (the
 * delete command failed); `rate-limited`; `breaker-open` (the tuple keeps coming back stuck); `changed` (the
 * kernel's entry was no longer the one judged when re-checked just before deleting).
 */
export type AutoRemedyResult =
  | 'deleted'
  | 'would-delete'
  | 'failed'
  | 'rate-limited'
  | 'breaker-open'
  | 'changed';

/** Every result, for counters and metrics. */
export const AUTO_REMEDY_RESULTS: readonly AutoRemedyResult[] = [
  'deleted',
  'would-delete',
  'failed',
  'rate-limited',
  'breaker-open',
  'changed',
];

/** One auto-remedy action or decision (recorded, audited, marked on the timeline, kept per flow). */
export interface AutoRemedyAction {
  /** When, ms. */
  t: number;
  /** Flow id acted on. */
  flowId: string;
  /** What happened. */
  result: AutoRemedyResult;
  /** The entry's original tuple. */
  orig: { proto: string; src: string; dst: string; sport?: number; dport?: number };
  /** Its verdict when judged. */
  verdict: Verdict;
  /** Its service, if any. */
  service?: string;
  /** Why, in words. */
  reason: string;
  /** The delete argv that was run (deleted, failed) or would have been (would-delete). */
  argv?: string[];
}

/** What auto-remedy did to one flow, and which entry took its tuple after a delete (flow detail). */
export interface FlowAutoRemedyView {
  /** Actions and decisions for this flow, oldest first. */
  actions: AutoRemedyAction[];
  /** The entry the client's next packet created with the same tuple after a delete, if seen. */
  successor: {
    id: string;
    verdict: Verdict;
    severity: Severity;
    createdAt?: number;
    firstSeen: number;
  } | null;
}

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
