/** The flow object ctscope prints and serves (the same shape for `analyze --json`, REST and WebSocket), and how one is built. */
import { snapshotAt } from '../nat/nat-history.js';
import type { Endpoint, NatSnapshot } from '../nat/nat-types.js';
import { type ClassifyOptions, classifyFlow } from '../verdict/classify-flow.js';
import { countTimeoutResets } from '../verdict/detect-keep-alive.js';
import type { BadField, Classification } from '../verdict/verdict-types.js';
import { SEVERITY_RANK, type Severity, type Verdict } from '../verdict/verdicts.js';
import type { TrackedFlow } from './flow-tracker.js';

/** One flow with its verdict. */
export interface FlowReport {
  /** Conntrack id as a decimal string, or the original-tuple key when conntrack printed no id. */
  id: string;
  /** Original direction. */
  orig: { src: string; dst: string; sport?: number; dport?: number; proto: string };
  /** Reply direction. */
  reply: { src: string; dst: string; sport?: number; dport?: number };
  /** What is wrong with it. */
  verdict: Verdict;
  /** Severity of the verdict. */
  severity: Severity;
  /** UNREPLIED and its timeout keeps being reset: it will never expire on its own. */
  keptAlive: boolean;
  /** Created while its service had no NAT rules or endpoints. */
  createdDuringRuleGap: boolean;
  /** One sentence naming the expected endpoints. */
  reason: string;
  /** Exact `conntrack -D` for this entry, or null. */
  remedy: string | null;
  /** Matched service name, if any. */
  service?: string;
  /** Matched frontend key `proto|ip|port`, if any. */
  frontend?: string;
  /** Endpoints the service DNATs to now. */
  expectedEndpoints: Endpoint[];
  /** Reply fields that are wrong. */
  badFields: BadField[];
  /** Still `[UNREPLIED]`. */
  unreplied: boolean;
  /** `[ASSURED]`. */
  assured: boolean;
  /** Latest known timeout, seconds. */
  timeout?: number;
  /** Times the timeout was seen reset while UNREPLIED. */
  timeoutResets: number;
  /** First observation, ms since the epoch (or relative ms when the input had no clock). */
  firstSeen: number;
  /** Latest observation, ms. */
  lastSeen: number;
  /** When its NEW event was seen, ms. */
  createdAt?: number;
  /** When its DESTROY event was seen, ms; absent while live. */
  destroyedAt?: number;
  /**
   * Since when it has been bad (severity not ok), ms: the time of the input that showed it, stamped by the
   * engine, so a live table and a replay of its recording give the same time. Absent while ok.
   */
  badSince?: number;
}

/** Worst first: severity, then kept-alive, then live before destroyed, then oldest first. */
export function compareReports(a: FlowReport, b: FlowReport): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    Number(b.keptAlive) - Number(a.keptAlive) ||
    Number(a.destroyedAt !== undefined) - Number(b.destroyedAt !== undefined) ||
    a.firstSeen - b.firstSeen ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

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
  const o = rec.orig;
  const p = rec.reply;
  const abs = (t: number | undefined) => (t === undefined ? undefined : t + base);
  return {
    id,
    orig: { src: o.src, dst: o.dst, sport: o.sport, dport: o.dport, proto: rec.proto },
    reply: { src: p.src, dst: p.dst, sport: p.sport, dport: p.dport },
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
    badSince: abs(flow.badSince),
  };
}
