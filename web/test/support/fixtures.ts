/** Small builders for protocol objects in unit tests. */
import { type DeltaMessage, type FlowReport, type SyncMessage, VERDICTS } from '@ctscope/shared';

/** A healthy DNS flow; patch to make it anything else. */
export function flow(id: string, patch: Partial<FlowReport> = {}): FlowReport {
  return {
    id,
    orig: {
      src: '10.42.0.33',
      dst: '10.43.0.10',
      sport: 40000 + Number(id.replace(/\D/g, '') || 0),
      dport: 53,
      proto: 'udp',
    },
    reply: { src: '172.20.112.199', dst: '10.42.0.33', sport: 53, dport: 40000 },
    verdict: 'ok',
    severity: 'ok',
    keptAlive: false,
    createdDuringRuleGap: false,
    reason: 'DNATed to a current endpoint of the service.',
    remedy: null,
    service: 'kube-system/kube-dns:dns',
    frontend: 'udp|10.43.0.10|53',
    expectedEndpoints: [{ ip: '172.20.112.199', port: 53 }],
    badFields: [],
    unreplied: false,
    assured: false,
    timeout: 30,
    timeoutResets: 0,
    firstSeen: 1000,
    lastSeen: 1000,
    createdAt: 1000,
    ...patch,
  };
}

/** The seed incident's flow (sport 52001, no-dnat, kept alive). */
export const incident = (patch: Partial<FlowReport> = {}) =>
  flow('137932478', {
    orig: { src: '10.42.0.33', dst: '10.43.0.10', sport: 52001, dport: 53, proto: 'udp' },
    reply: { src: '10.43.0.10', dst: '172.20.112.199', sport: 53, dport: 20978 },
    verdict: 'no-dnat',
    severity: 'critical',
    keptAlive: true,
    unreplied: true,
    badFields: ['reply.src', 'reply.sport'],
    remedy: 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53',
    timeout: 29,
    timeoutResets: 2,
    ...patch,
  });

/** A sync message. */
export function sync(seq: number, patch: Partial<SyncMessage> = {}): SyncMessage {
  return {
    type: 'sync',
    seq,
    now: 10_000,
    flows: patch.flows ?? [],
    total: patch.flows?.length ?? 0,
    truncated: false,
    counts: {
      flows: 0,
      live: 0,
      verdict: Object.fromEntries(VERDICTS.map((v) => [v, 0])) as SyncMessage['counts']['verdict'],
      severity: { critical: 0, warning: 0, ok: 0 },
    },
    timeline: [],
    markers: [],
    natChanges: [],
    eventLoss: 0,
    sources: [],
    alerts: [],
    ...patch,
  };
}

/** A delta message. */
export function delta(seq: number, patch: Partial<DeltaMessage> = {}): DeltaMessage {
  return {
    type: 'delta',
    seq,
    now: 10_000 + seq * 100,
    upserts: [],
    removals: [],
    rates: [],
    markers: [],
    nat: [],
    alerts: [],
    sources: [],
    ...patch,
  };
}
