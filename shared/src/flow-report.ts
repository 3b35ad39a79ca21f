/** The flow object ctscope prints and serves: the same shape for `analyze --json`, REST and WebSocket. */
import type { Endpoint } from './nat-types.js';
import type { BadField, Severity, Verdict } from './verdict-types.js';

/** One flow with its verdict. */
export interface FlowReport {
  /** Conntrack id as a decimal string, or the original-tuple key when conntrack printed no id. */
  id: string;
  /** Original direction. */
  orig: { src: string; dst: string; sport?: number; dport?: number; proto: string };
  /** Reply direction. */
  reply: { src: string; dst: string; sport?: number; dport?: number };
  /** Verdict from design.md §3. */
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
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, ok: 2 };

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
