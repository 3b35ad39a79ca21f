/** Classifies one flow against the NAT snapshot at its creation and the current one (design.md §3). */
import { buildRemedyIfUseful } from './build-remedy.js';
import type { FlowRecord } from './conntrack-types.js';
import { formatEndpoints, formatHostPort } from './format-endpoint.js';
import { findFrontend } from './nat-snapshot.js';
import type { Frontend, NatSnapshot } from './nat-types.js';
import { isKeptAlive } from './detect-keep-alive.js';
import type { BadField, Classification, TimeoutObservation, Verdict } from './verdict-types.js';

/** Tunables for {@link classifyFlow}. */
export interface ClassifyOptions {
  /** An UNREPLIED flow to a healthy endpoint older than this is `unanswered`. Default 10 s. */
  unansweredAfterMs?: number;
  /** Slack for timeout-reset detection, seconds. */
  resetToleranceS?: number;
}

/** Everything the classifier looks at for one flow. */
export interface ClassifyInput {
  /** The flow's latest known state. */
  flow: Pick<FlowRecord, 'proto' | 'orig' | 'reply' | 'unreplied' | 'zone'>;
  /** The snapshot in force when the flow was created, if known. */
  createdSnapshot?: NatSnapshot;
  /** The snapshot in force now. */
  currentSnapshot?: NatSnapshot;
  /** Timeout readings, oldest first. */
  timeouts?: readonly TimeoutObservation[];
  /** When the flow was first seen (ms), for `unanswered`. */
  firstSeen?: number;
  /** Now (ms), for `unanswered`. */
  now?: number;
  options?: ClassifyOptions;
}

export const DEFAULT_UNANSWERED_AFTER_MS = 10_000;

/** Only UDP entries are classified: kube-proxy's stale-entry problem and its reconciler are UDP-only. */
const CLASSIFIED_PROTO = 'udp';

function okResult(reason: string, extra?: Partial<Classification>): Classification {
  return {
    verdict: 'ok',
    severity: 'ok',
    keptAlive: false,
    createdDuringRuleGap: false,
    expectedEndpoints: [],
    badFields: [],
    reason,
    remedy: null,
    ...extra,
  };
}

function hasEndpoints(f: Frontend | undefined): boolean {
  return f !== undefined && f.endpoints.length > 0;
}

function serviceLabel(f: Frontend): string {
  return f.service ?? formatHostPort(f.ip, f.port);
}

/** Classify one flow. Pure and allocation-light: it runs for every event. */
export function classifyFlow(input: ClassifyInput): Classification {
  const { flow, currentSnapshot, createdSnapshot } = input;
  if (flow.proto !== CLASSIFIED_PROTO) return okResult(`Only UDP flows are classified; this is ${flow.proto}.`);
  const { orig, reply } = flow;
  if (orig.dport === undefined || reply.sport === undefined) return okResult('No ports to match a service.');

  const current = currentSnapshot ? findFrontend(currentSnapshot, flow.proto, orig.dst, orig.dport) : undefined;
  const atCreation = createdSnapshot ? findFrontend(createdSnapshot, flow.proto, orig.dst, orig.dport) : undefined;
  const frontend = current ?? atCreation;
  if (!frontend) return okResult('Destination is not a service frontend in the NAT rules.');

  const keptAlive = flow.unreplied && isKeptAlive(input.timeouts ?? [], input.options?.resetToleranceS);
  const createdDuringRuleGap = createdSnapshot !== undefined && !hasEndpoints(atCreation) && hasEndpoints(current);
  const base = {
    keptAlive,
    createdDuringRuleGap,
    service: serviceLabel(frontend),
    frontend: frontend.key,
    expectedEndpoints: current?.endpoints ?? [],
  };
  const origDst = formatHostPort(orig.dst, orig.dport);
  const replySrc = formatHostPort(reply.src, reply.sport);
  const tail = suffix(keptAlive, createdDuringRuleGap);

  if (!hasEndpoints(current)) {
    const why = current ? 'has no endpoints' : 'no longer has NAT rules';
    return finish(flow, 'no-endpoints', [], base, `${base.service} (${origDst}) ${why}, yet this entry is live${tail}.`);
  }
  const endpoints = current!.endpoints;
  const expected = formatEndpoints(endpoints);
  if (reply.src === orig.dst && reply.sport === orig.dport) {
    const reason = `Never DNATed: reply source ${replySrc} is the ${base.service} frontend itself instead of one of its endpoints ${expected}${tail}.`;
    return finish(flow, 'no-dnat', ['reply.src', 'reply.sport'], base, reason);
  }
  let ipKnown = false;
  for (const e of endpoints) {
    if (e.ip === reply.src) {
      ipKnown = true;
      if (e.port === reply.sport) return healthy(input, base, replySrc, tail);
    }
  }
  const bad: BadField[] = ipKnown ? ['reply.sport'] : ['reply.src', 'reply.sport'];
  const reason = `Stale endpoint: reply source ${replySrc} is not among ${base.service}'s current endpoints ${expected}${tail}.`;
  return finish(flow, 'stale-endpoint', bad, base, reason);
}

function healthy(
  input: ClassifyInput,
  base: Omit<Classification, 'verdict' | 'severity' | 'badFields' | 'reason' | 'remedy'>,
  replySrc: string,
  tail: string,
): Classification {
  const limit = input.options?.unansweredAfterMs ?? DEFAULT_UNANSWERED_AFTER_MS;
  const age = input.firstSeen !== undefined && input.now !== undefined ? input.now - input.firstSeen : undefined;
  if (input.flow.unreplied && age !== undefined && age > limit) {
    const secs = Math.round(age / 1000);
    const reason = `Unanswered: DNATed to current endpoint ${replySrc} of ${base.service}, but no reply in ${secs}s${tail}.`;
    return finish(input.flow, 'unanswered', [], base, reason);
  }
  // The reply itself proves the rules were in force at creation, whatever the snapshot times say.
  return {
    ...base,
    createdDuringRuleGap: false,
    verdict: 'ok',
    severity: 'ok',
    badFields: [],
    reason: `DNATed to current endpoint ${replySrc}.`,
    remedy: null,
  };
}

function suffix(keptAlive: boolean, gap: boolean): string {
  let s = '';
  if (gap) s += ', and it was created while the service had no NAT rules';
  if (keptAlive) s += '; the client keeps refreshing it, so it will never expire on its own';
  return s;
}

const SEVERITY: Record<Exclude<Verdict, 'ok'>, 'critical' | 'warning'> = {
  'no-dnat': 'critical',
  'stale-endpoint': 'critical',
  'no-endpoints': 'warning',
  unanswered: 'warning',
};

function finish(
  flow: ClassifyInput['flow'],
  verdict: Exclude<Verdict, 'ok'>,
  badFields: BadField[],
  base: Omit<Classification, 'verdict' | 'severity' | 'badFields' | 'reason' | 'remedy'>,
  reason: string,
): Classification {
  return {
    ...base,
    verdict,
    severity: SEVERITY[verdict],
    badFields,
    reason,
    remedy: buildRemedyIfUseful(verdict, flow),
  };
}
