/**
 * `--auto-remedy`: looks at the live table a few times a second and deletes entries proved stuck, through the
 * same delete path as DELETE /api/flows/:id. Every action and every decision not to act (rate-limited, breaker
 * open, dry-run, entry changed) is audited, recorded, kept on the flow and counted; each is reported once per
 * flow, so a flow that stays rate-limited does not fill the audit log.
 */
import {
  type AutoRemedyAction,
  type AutoRemedyResult,
  type EngineCore,
  type FlowReport,
  remedyArgs,
  type TrackedFlow,
} from '@ctscope/shared';
import type { AutoRemedyConfig } from '../config.js';
import type { DeleteResult } from '../engine/engine.js';
import type { RecheckResult } from './recheck-entry.js';
import {
  eligibility,
  type NatContext,
  RateLimits,
  REMEDIABLE_VERDICTS,
  TupleBreaker,
  tupleOf,
} from './remedy-policy.js';

/** Live state for /api/stats. */
export interface AutoRemedyStatus {
  mode: AutoRemedyConfig['mode'];
  settleMs: number;
  nodePerMinute: number;
  servicePerMinute: number;
  breakerThreshold: number;
  breakerWindowMs: number;
  totals: Record<AutoRemedyResult, number>;
}

export interface AutoRemedyDeps {
  core: EngineCore;
  config: AutoRemedyConfig;
  settleMs: number;
  now: () => number;
  /** Re-read the judged entry from the kernel just before deleting. */
  recheck: (flow: TrackedFlow) => Promise<RecheckResult>;
  /** The one delete path (runs the exact `conntrack -D`, marks the flow gone, records it). */
  deleteFlow: (report: FlowReport) => Promise<DeleteResult>;
  /** Append to audit.log; must not throw. */
  audit: (a: AutoRemedyAction) => Promise<void>;
  /** Append to the recording. */
  record: (a: AutoRemedyAction) => void;
  /** Whether the NAT source is running now. */
  natRunning: () => boolean;
}

const FINAL: ReadonlySet<AutoRemedyResult> = new Set(['deleted', 'failed', 'would-delete']);
/** After a re-check that could not read the entry, wait this long before trying that flow again. */
const RECHECK_RETRY_MS = 5000;

/** Candidates looked at per tick: stuck entries are few; a flood of them is what the rate limits are for. */
const MAX_CANDIDATES = 1000;

export class AutoRemedy {
  private readonly limits: RateLimits;
  private readonly breaker: TupleBreaker;
  /** The last decision reported per flow, so a standing decision is reported once. */
  private readonly reported = new Map<string, AutoRemedyResult>();
  /** Flows whose re-check showed another entry (final), or could not read it (until the time given). */
  private readonly changed = new Map<string, number>();
  private busy = false;

  constructor(private readonly deps: AutoRemedyDeps) {
    this.limits = new RateLimits(deps.config.nodePerMinute, deps.config.servicePerMinute);
    this.breaker = new TupleBreaker(deps.config.breakerThreshold, deps.config.breakerWindowMs);
  }

  status(): AutoRemedyStatus {
    const c = this.deps.config;
    return {
      mode: c.mode,
      settleMs: this.deps.settleMs,
      nodePerMinute: c.nodePerMinute,
      servicePerMinute: c.servicePerMinute,
      breakerThreshold: c.breakerThreshold,
      breakerWindowMs: c.breakerWindowMs,
      totals: this.deps.core.remedyLog.totals(),
    };
  }

  /** One pass over the candidates; overlapping calls return at once (deletes are awaited one at a time). */
  async tick(): Promise<void> {
    if (this.busy || this.deps.config.mode === 'off') return;
    this.busy = true;
    try {
      const { store } = this.deps.core;
      const candidates = store.liveWithVerdict(REMEDIABLE_VERDICTS, MAX_CANDIDATES);
      for (const c of candidates) await this.consider(c.report, c.flow);
      if (this.reported.size > 4 * MAX_CANDIDATES) {
        const live = new Set(candidates.map((c) => c.report.id));
        for (const id of this.reported.keys()) if (!live.has(id)) this.reported.delete(id);
        for (const id of this.changed.keys()) if (!live.has(id)) this.changed.delete(id);
      }
    } finally {
      this.busy = false;
    }
  }

  private async consider(report: FlowReport, flow: TrackedFlow): Promise<void> {
    const { core, config, settleMs } = this.deps;
    // A delete, a failed delete or a dry-run decision is final for this flow id; so is a re-check that saw
    // another entry (a re-check that could not read the kernel is retried after a pause).
    const last = this.reported.get(report.id);
    if (last !== undefined && FINAL.has(last)) return;
    const now = this.deps.now();
    if ((this.changed.get(report.id) ?? Number.NEGATIVE_INFINITY) > now) return;
    const e = eligibility(report, this.natContext(report), now, settleMs);
    if (!e.eligible) return;
    const service = report.service ?? report.frontend ?? report.orig.dst;
    const tuple = tupleOf(report.orig);
    const argv = ['conntrack', ...remedyArgs(flow.record)];

    const b = this.breaker.check(tuple, now);
    if (b.open) {
      const why = `the same tuple came back stuck ${b.deletes} times within ${config.breakerWindowMs / 1000} s of being deleted: the cause is elsewhere; not deleting it again (alert raised)`;
      await this.report(report, 'breaker-open', why, undefined, now);
      return;
    }
    const limited = this.limits.check(service, now);
    if (limited) {
      await this.report(report, 'rate-limited', limited, undefined, now);
      return;
    }
    const again = await this.deps.recheck(flow);
    if (!again.same) {
      this.changed.set(report.id, again.retry ? now + RECHECK_RETRY_MS : Number.POSITIVE_INFINITY);
      await this.report(report, 'changed', `not deleted: ${again.why}`, undefined, this.deps.now());
      return;
    }
    // The store may have moved on while the kernel was read (a DESTROY, a new verdict, new rules): judge again.
    const fresh = core.store.get(report.id);
    if (
      !fresh ||
      !eligibility(fresh.report, this.natContext(fresh.report), this.deps.now(), settleMs).eligible
    )
      return;
    this.limits.record(service, now);
    if (config.mode === 'dry-run') {
      await this.report(report, 'would-delete', `dry-run: ${report.reason}`, argv, this.deps.now());
      return;
    }
    // Stamped before the command runs: the client's next packet (the successor) may arrive while it does.
    const at = this.deps.now();
    const r = await this.deps.deleteFlow(fresh.report);
    this.breaker.recordDelete(tuple, at);
    await this.report(
      report,
      r.ok ? 'deleted' : 'failed',
      r.ok ? report.reason : `${r.message} (not retried for this entry)`,
      r.command,
      at,
    );
  }

  /** The current snapshot as eligibility sees it, for this flow's frontend. */
  private natContext(report: FlowReport): NatContext {
    const { store } = this.deps.core;
    return {
      endpoints: store.current?.frontends.find((f) => f.key === report.frontend)?.endpoints.length ?? 0,
      snapshotSince: store.nat[store.nat.length - 1]?.since,
      natSourceRunning: this.deps.natRunning(),
    };
  }

  private async report(
    flow: FlowReport,
    result: AutoRemedyResult,
    reason: string,
    argv: string[] | undefined,
    t: number,
  ): Promise<void> {
    if (this.reported.get(flow.id) === result) return;
    this.reported.set(flow.id, result);
    const action: AutoRemedyAction = {
      t,
      flowId: flow.id,
      result,
      orig: flow.orig,
      verdict: flow.verdict,
      service: flow.service,
      reason,
      argv,
    };
    this.deps.core.onRemedy(action);
    this.deps.record(action);
    await this.deps.audit(action);
  }
}
