/** Turns a tracked flow plus NAT history into a {@link FlowReport}. */
import { type ClassifyOptions, classifyFlow } from './classify-flow.js';
import { countTimeoutResets } from './detect-keep-alive.js';
import type { FlowReport } from './flow-report.js';
import type { TrackedFlow } from './flow-tracker.js';
import { snapshotAt } from './nat-history.js';
import type { NatSnapshot } from './nat-types.js';
import type { Classification } from './verdict-types.js';

/** Classify a tracked flow against the snapshot at its creation (when known) and the current one. */
export function reportFlow(
  flow: TrackedFlow,
  history: readonly NatSnapshot[],
  current: NatSnapshot | undefined,
  now: number,
  options?: ClassifyOptions,
): FlowReport {
  const rec = flow.record;
  const createdSnapshot = flow.createdAt !== undefined ? snapshotAt(history, flow.createdAt) : undefined;
  const c = classifyFlow({
    flow: rec,
    createdSnapshot,
    currentSnapshot: current,
    timeouts: flow.history,
    firstSeen: flow.firstSeen,
    now,
    options,
  });
  const id = rec.id !== undefined ? String(rec.id) : flow.key;
  return buildFlowReport(flow, c, { id, resetToleranceS: options?.resetToleranceS });
}

/** How {@link buildFlowReport} names and times a report. */
export interface BuildReportOptions {
  /** Report id; default the tracker key. */
  id?: string;
  /** Added to the flow's times (the live store keeps them relative to a base); default 0. */
  base?: number;
  /** Timeout-reset tolerance for keep-alive counting, s. */
  resetToleranceS?: number;
}

/** The one FlowReport shape: a tracked flow plus its classification. */
export function buildFlowReport(
  flow: TrackedFlow,
  c: Classification,
  { id = flow.key, base = 0, resetToleranceS }: BuildReportOptions = {},
): FlowReport {
  const rec = flow.record;
  const abs = (t: number | undefined) => (t === undefined ? undefined : t + base);
  return {
    id,
    orig: {
      src: rec.orig.src,
      dst: rec.orig.dst,
      sport: rec.orig.sport,
      dport: rec.orig.dport,
      proto: rec.proto,
    },
    reply: { src: rec.reply.src, dst: rec.reply.dst, sport: rec.reply.sport, dport: rec.reply.dport },
    verdict: c.verdict,
    severity: c.severity,
    keptAlive: c.keptAlive,
    createdDuringRuleGap: c.createdDuringRuleGap,
    reason: c.reason,
    remedy: c.remedy,
    service: c.service,
    frontend: c.frontend,
    expectedEndpoints: c.expectedEndpoints,
    badFields: c.badFields,
    unreplied: rec.unreplied,
    assured: rec.assured,
    timeout: rec.timeout,
    timeoutResets: countTimeoutResets(flow.history, resetToleranceS),
    firstSeen: flow.firstSeen + base,
    lastSeen: flow.lastSeen + base,
    createdAt: abs(flow.createdAt),
    destroyedAt: abs(flow.destroyedAt),
  };
}
