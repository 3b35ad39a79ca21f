/** Classifies one flow against the NAT snapshot at its creation and the current one into one verdict. */

import type { FlowRecord } from '../conntrack/conntrack-types.js';
import { formatEndpoints, formatHostPort } from '../nat/format-endpoint.js';
import { findFrontend } from '../nat/nat-snapshot.js';
import type { Endpoint, Frontend, FrontendDrop, NatSnapshot } from '../nat/nat-types.js';
import { addressInRanges } from '../nat/source-match.js';
import { buildRemedyIfUseful } from './build-remedy.js';
import { isKeptAlive } from './detect-keep-alive.js';
import type { BadField, Classification, TimeoutObservation } from './verdict-types.js';
import { SEVERITY_OF, type Verdict } from './verdicts.js';

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

const NONE: readonly Endpoint[] = Object.freeze([]);
const NO_FIELDS: readonly BadField[] = Object.freeze([]);
const BOTH_FIELDS: readonly BadField[] = Object.freeze(['reply.src', 'reply.sport'] as BadField[]);
const PORT_FIELD: readonly BadField[] = Object.freeze(['reply.sport'] as BadField[]);

/** Every result is built here so all Classification objects share one shape (this runs per event). */
function result(
  verdict: Verdict,
  reason: string,
  flow: ClassifyInput['flow'] | undefined,
  frontend: Frontend | undefined,
  label: string | undefined,
  expected: readonly Endpoint[],
  badFields: readonly BadField[],
  keptAlive: boolean,
  createdDuringRuleGap: boolean,
): Classification {
  return {
    verdict,
    severity: SEVERITY_OF[verdict],
    keptAlive,
    createdDuringRuleGap,
    service: label,
    frontend: frontend?.key,
    expectedEndpoints: expected as Endpoint[],
    badFields: badFields as BadField[],
    reason,
    remedy: flow ? buildRemedyIfUseful(verdict, flow) : null,
  };
}

function hasEndpoints(f: Frontend | undefined): boolean {
  return f !== undefined && f.endpoints.length > 0;
}

function serviceLabel(f: Frontend): string {
  return f.service ?? formatHostPort(f.ip, f.port);
}

function suffix(keptAlive: boolean, gap: boolean): string {
  let s = '';
  if (gap) s += ', and it was created while the service had no NAT rules';
  if (keptAlive) s += '; the client keeps refreshing it, so it will never expire on its own';
  return s;
}

/**
 * Label and endpoint list of a frontend, formatted once per frontend (snapshots are immutable once built;
 * the cheap checks below still catch a frontend edited in place).
 */
interface FrontendText {
  endpoints: readonly Endpoint[];
  count: number;
  service: string | undefined;
  label: string;
  expected: string;
  /**
   * `no-dnat` reasons by kept-alive and rule-gap (index `keptAlive + 2 * gap`). For an addressed frontend the
   * reply source is the frontend itself, so the reason depends on nothing else; a storm repeats it per flow.
   */
  noDnat: (string | undefined)[];
}
const frontendTexts = new WeakMap<Frontend, FrontendText>();

function textFor(f: Frontend): FrontendText {
  let t = frontendTexts.get(f);
  if (
    t === undefined ||
    t.endpoints !== f.endpoints ||
    t.count !== f.endpoints.length ||
    t.service !== f.service
  ) {
    t = {
      endpoints: f.endpoints,
      count: f.endpoints.length,
      service: f.service,
      label: serviceLabel(f),
      expected: formatEndpoints(f.endpoints),
      noDnat: [undefined, undefined, undefined, undefined],
    };
    frontendTexts.set(f, t);
  }
  return t;
}

/** Classify one flow. Pure; results may be shared frozen objects, so never mutate them. It runs per event. */
export function classifyFlow(input: ClassifyInput): Classification {
  const { flow, currentSnapshot, createdSnapshot } = input;
  const { orig, reply } = flow;
  if (flow.proto !== CLASSIFIED_PROTO) {
    const reason = `Only UDP flows are classified; this is ${flow.proto}.`;
    return result('ok', reason, undefined, undefined, undefined, NONE, NO_FIELDS, false, false);
  }
  if (orig.dport === undefined || reply.sport === undefined) {
    return result(
      'ok',
      'No ports to match a service.',
      undefined,
      undefined,
      undefined,
      NONE,
      NO_FIELDS,
      false,
      false,
    );
  }
  const current = currentSnapshot
    ? findFrontend(currentSnapshot, flow.proto, orig.dst, orig.dport)
    : undefined;
  const atCreation = createdSnapshot
    ? findFrontend(createdSnapshot, flow.proto, orig.dst, orig.dport)
    : undefined;
  const frontend = current ?? atCreation;
  if (!frontend) return NOT_A_SERVICE;

  const endpoints = current?.endpoints ?? NONE;
  // Fast path for the common case: answered by a current endpoint. The reply proves the rules were in force.
  for (let i = 0; i < endpoints.length; i++) {
    const e = endpoints[i]!;
    if (e.ip === reply.src && e.port === reply.sport) return healthy(input, current!, e);
  }

  const keptAlive =
    flow.unreplied && isKeptAlive(input.timeouts ?? NO_READINGS, input.options?.resetToleranceS);
  const neverDnated = reply.src === orig.dst && reply.sport === orig.dport;
  // Never DNATed because the rules in force now drop this source on purpose: the entry is not the problem.
  if (neverDnated && current?.drops) {
    const drop = dropFor(current.drops, orig.src);
    if (drop) {
      const label = serviceLabel(current);
      const reason = blockedReason(drop, current, label, orig.src, formatHostPort(orig.dst, orig.dport));
      return result('blocked', reason, flow, current, label, endpoints, NO_FIELDS, keptAlive, false);
    }
  }
  const gap = createdSnapshot !== undefined && !hasEndpoints(atCreation) && hasEndpoints(current);
  const tail = suffix(keptAlive, gap);

  if (endpoints.length === 0) {
    const label = serviceLabel(frontend);
    const why = current ? 'has no endpoints' : 'no longer has NAT rules';
    const reason = `${label} (${formatHostPort(orig.dst, orig.dport)}) ${why}, yet this entry is live${tail}.`;
    return result('no-endpoints', reason, flow, frontend, label, endpoints, NO_FIELDS, keptAlive, gap);
  }
  // Endpoints exist, so `frontend` is `current`.
  const text = textFor(frontend);
  const { label, expected } = text;
  if (neverDnated) {
    // A nodeport (`*`) frontend's reply source is whichever node address the client used.
    const memo = frontend.ip === '*' ? undefined : (keptAlive ? 1 : 0) + (gap ? 2 : 0);
    let reason = memo === undefined ? undefined : text.noDnat[memo];
    if (reason === undefined) {
      const replySrc = formatHostPort(reply.src, reply.sport);
      reason = `Never DNATed: reply source ${replySrc} is the ${label} frontend itself instead of one of its endpoints ${expected}${tail}.`;
      if (memo !== undefined) text.noDnat[memo] = reason;
    }
    return result('no-dnat', reason, flow, frontend, label, endpoints, BOTH_FIELDS, keptAlive, gap);
  }
  const replySrc = formatHostPort(reply.src, reply.sport);
  let ipKnown = false;
  for (let i = 0; i < endpoints.length; i++) if (endpoints[i]!.ip === reply.src) ipKnown = true;
  const reason = `Stale endpoint: reply source ${replySrc} is not among ${label}'s current endpoints ${expected}${tail}.`;
  const bad = ipKnown ? PORT_FIELD : BOTH_FIELDS;
  return result('stale-endpoint', reason, flow, frontend, label, endpoints, bad, keptAlive, gap);
}

const NO_READINGS: readonly TimeoutObservation[] = Object.freeze([]);

/** The drop that applies to traffic from `src`: outside the source ranges, or not exempt from a Local drop. */
function dropFor(drops: readonly FrontendDrop[], src: string): FrontendDrop | undefined {
  for (const d of drops)
    if (d.kind === 'source-ranges' && !addressInRanges(src, d.allowedSources ?? [])) return d;
  for (const d of drops)
    if (d.kind === 'no-local-endpoints' && !addressInRanges(src, d.exemptSources ?? [])) return d;
  return undefined;
}

/** One sentence: names the rule, says deleting is pointless and where to look instead. No remedy command. */
function blockedReason(
  drop: FrontendDrop,
  frontend: Frontend,
  label: string,
  src: string,
  where: string,
): string {
  const pointless = 'deleting this entry changes nothing, the next packet is dropped again';
  if (drop.kind === 'source-ranges') {
    const allowed = drop.allowedSources?.length ? drop.allowedSources.join(', ') : 'none';
    return `Blocked on purpose: source ${src} outside loadBalancerSourceRanges of ${label} (allowed: ${allowed}), so kube-proxy drops its traffic to ${where} (${drop.rule}); ${pointless}; look at the service's loadBalancerSourceRanges and the source address the client really arrives with.`;
  }
  const policy = frontend.kind === 'cluster-ip' ? 'internalTrafficPolicy' : 'externalTrafficPolicy';
  const exempt = drop.exemptSources?.length ? `, except from ${drop.exemptSources.join(', ')}` : '';
  return `Blocked on purpose: ${label} has ${policy} Local and no local endpoint on this node, so kube-proxy drops traffic to ${where}${exempt} (${drop.rule}); ${pointless}; look at endpoint placement: which nodes run its endpoints, and whether clients or the load balancer's health check send only to those nodes.`;
}

function healthy(input: ClassifyInput, frontend: Frontend, endpoint: Endpoint): Classification {
  const { flow } = input;
  if (flow.unreplied && input.firstSeen !== undefined && input.now !== undefined) {
    const age = input.now - input.firstSeen;
    const limit = input.options?.unansweredAfterMs ?? DEFAULT_UNANSWERED_AFTER_MS;
    if (age > limit) {
      const keptAlive = isKeptAlive(input.timeouts ?? NO_READINGS, input.options?.resetToleranceS);
      // Shared per frontend/endpoint: a silent backend can leave 100k+ unanswered flows, and a reason per
      // flow (naming its age) would cost hundreds of bytes each. The age is on the flow itself.
      let byEndpoint = unansweredResults.get(frontend);
      if (!byEndpoint) {
        byEndpoint = new Map();
        unansweredResults.set(frontend, byEndpoint);
      }
      const key = `${endpoint.ip}|${endpoint.port}|${keptAlive}|${limit}`;
      let shared = byEndpoint.get(key);
      if (!shared) {
        const label = serviceLabel(frontend);
        const reason = `Unanswered: DNATed to current endpoint ${formatHostPort(endpoint.ip, endpoint.port)} of ${label}, but no reply for more than ${Math.round(limit / 1000)}s${suffix(keptAlive, false)}.`;
        shared = Object.freeze(
          result(
            'unanswered',
            reason,
            undefined,
            frontend,
            label,
            frontend.endpoints,
            NO_FIELDS,
            keptAlive,
            false,
          ),
        );
        byEndpoint.set(key, shared);
      }
      return shared;
    }
  }
  // One-entry memo in front of the WeakMap: consecutive events mostly hit the same frontend.
  if (frontend === lastHealthyFrontend) return lastHealthy!;
  let ok = healthyResults.get(frontend);
  if (!ok) {
    const label = serviceLabel(frontend);
    ok = Object.freeze(
      result('ok', DNATED_OK, undefined, frontend, label, frontend.endpoints, NO_FIELDS, false, false),
    );
    healthyResults.set(frontend, ok);
  }
  lastHealthyFrontend = frontend;
  lastHealthy = ok;
  return ok;
}

const DNATED_OK = 'DNATed to a current endpoint of the service.';
/** Shared `unanswered` results per frontend, keyed by endpoint, kept-alive and threshold. */
const unansweredResults = new WeakMap<Frontend, Map<string, Classification>>();
/** Shared frozen results for the two commonest outcomes, so the per-event hot path allocates nothing. */
const healthyResults = new WeakMap<Frontend, Classification>();
let lastHealthyFrontend: Frontend | undefined;
let lastHealthy: Classification | undefined;
const NOT_A_SERVICE: Classification = Object.freeze(
  result(
    'ok',
    'Destination is not a service frontend in the NAT rules.',
    undefined,
    undefined,
    undefined,
    NONE,
    NO_FIELDS,
    false,
    false,
  ),
);
