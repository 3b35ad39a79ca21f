/** Turns a tracked flow plus NAT history into a {@link FlowReport}. */
import { type ClassifyOptions, classifyFlow } from './classify-flow.js';
import { countTimeoutResets } from './detect-keep-alive.js';
import type { FlowReport } from './flow-report.js';
import type { TrackedFlow } from './flow-tracker.js';
import { snapshotAt } from './nat-history.js';
import type { NatSnapshot } from './nat-types.js';

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
  const report: FlowReport = {
    id: rec.id !== undefined ? String(rec.id) : flow.key,
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
    timeoutResets: countTimeoutResets(flow.history, options?.resetToleranceS),
    firstSeen: flow.firstSeen,
    lastSeen: flow.lastSeen,
    createdAt: flow.createdAt,
    destroyedAt: flow.destroyedAt,
  };
  return report;
}
