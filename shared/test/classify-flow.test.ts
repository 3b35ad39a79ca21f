import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlowRecord, Frontend, FrontendDrop, NatSnapshot, TimeoutObservation } from '../src/index.js';
import { classifyFlow } from '../src/index.js';

function fe(
  proto: string,
  ip: string,
  port: number,
  endpoints: Array<[string, number]>,
  service?: string,
): Frontend {
  return {
    key: `${proto}|${ip}|${port}`,
    kind: ip === '*' ? 'nodeport' : 'cluster-ip',
    ip,
    port,
    proto,
    service,
    endpoints: endpoints.map(([epIp, epPort]) => ({ ip: epIp, port: epPort })),
  };
}

function snap(...frontends: Frontend[]): NatSnapshot {
  return { source: 'iptables', hash: frontends.map((f) => f.key).join(','), frontends, warnings: [] };
}

type Flow = Pick<FlowRecord, 'proto' | 'orig' | 'reply' | 'unreplied' | 'zone'>;

function flow(
  proto: string,
  [src, sport]: [string, number],
  [dst, dport]: [string, number],
  [rsrc, rsport]: [string, number],
  unreplied = true,
): Flow {
  return {
    proto,
    orig: { src, dst, sport, dport },
    reply: { src: rsrc, dst: src, sport: rsport, dport: sport },
    unreplied,
  };
}

const DNS = 'kube-system/kube-dns:dns';
const dnsUp = snap(fe('udp', '10.43.0.10', 53, [['172.20.112.199', 53]], DNS));
const dnsTwo = snap(
  fe(
    'udp',
    '10.43.0.10',
    53,
    [
      ['10.42.0.5', 53],
      ['10.42.0.6', 53],
    ],
    DNS,
  ),
);
const dnsNoEndpoints = snap({ ...fe('udp', '10.43.0.10', 53, [], DNS), noEndpointsRule: true });
const noRules = snap();
const client: [string, number] = ['10.42.0.33', 52001];
const vip: [string, number] = ['10.43.0.10', 53];
const refreshed: TimeoutObservation[] = [
  { at: 0, timeout: 29, unreplied: true },
  { at: 3000, timeout: 29, unreplied: true },
  { at: 6000, timeout: 29, unreplied: true },
];
const countingDown: TimeoutObservation[] = [
  { at: 0, timeout: 28, unreplied: true },
  { at: 3000, timeout: 25, unreplied: true },
  { at: 6000, timeout: 22, unreplied: true },
];

interface Case {
  name: string;
  input: Parameters<typeof classifyFlow>[0];
  verdict: string;
  severity: string;
  keptAlive?: boolean;
  gap?: boolean;
  badFields?: string[];
  remedy?: string | null;
  reasonIncludes?: string[];
}

const cases: Case[] = [
  {
    name: 'seed: never DNATed, kept alive by a fixed-port client',
    input: { flow: flow('udp', client, vip, vip), currentSnapshot: dnsUp, timeouts: refreshed },
    verdict: 'no-dnat',
    severity: 'critical',
    keptAlive: true,
    badFields: ['reply.src', 'reply.sport'],
    remedy: 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53',
    reasonIncludes: ['172.20.112.199:53', DNS, 'never expire'],
  },
  {
    name: 'seed: random-port no-dnat entry counting down is not kept alive',
    input: {
      flow: flow('udp', ['10.42.0.33', 59807], vip, vip),
      currentSnapshot: dnsUp,
      timeouts: countingDown,
    },
    verdict: 'no-dnat',
    severity: 'critical',
    keptAlive: false,
  },
  {
    name: 'created during the rule gap',
    input: { flow: flow('udp', client, vip, vip), createdSnapshot: noRules, currentSnapshot: dnsUp },
    verdict: 'no-dnat',
    severity: 'critical',
    gap: true,
    reasonIncludes: ['no NAT rules'],
  },
  {
    name: 'healthy DNATed flow',
    input: { flow: flow('udp', client, vip, ['10.42.0.6', 53], false), currentSnapshot: dnsTwo },
    verdict: 'ok',
    severity: 'ok',
    remedy: null,
  },
  {
    name: 'healthy flow created before the gap is not marked as a gap flow',
    input: {
      flow: flow('udp', client, vip, ['172.20.112.199', 53], false),
      createdSnapshot: dnsUp,
      currentSnapshot: dnsUp,
    },
    verdict: 'ok',
    severity: 'ok',
    gap: false,
  },
  {
    name: 'stale endpoint: replaced pod',
    input: {
      flow: flow('udp', client, vip, ['10.42.0.9', 53]),
      currentSnapshot: dnsTwo,
      timeouts: refreshed,
    },
    verdict: 'stale-endpoint',
    severity: 'critical',
    keptAlive: true,
    badFields: ['reply.src', 'reply.sport'],
    reasonIncludes: ['10.42.0.5:53, 10.42.0.6:53'],
  },
  {
    name: 'stale endpoint: right pod, wrong port',
    input: { flow: flow('udp', client, vip, ['10.42.0.5', 5353]), currentSnapshot: dnsTwo },
    verdict: 'stale-endpoint',
    severity: 'critical',
    badFields: ['reply.sport'],
  },
  {
    name: 'service has no endpoints (REJECT rule)',
    input: { flow: flow('udp', client, vip, vip), currentSnapshot: dnsNoEndpoints },
    verdict: 'no-endpoints',
    severity: 'warning',
    reasonIncludes: ['has no endpoints'],
  },
  {
    name: 'service rules gone now, present at creation',
    input: {
      flow: flow('udp', client, vip, ['172.20.112.199', 53]),
      createdSnapshot: dnsUp,
      currentSnapshot: noRules,
    },
    verdict: 'no-endpoints',
    severity: 'warning',
    reasonIncludes: ['no longer has NAT rules'],
  },
  {
    name: 'non-service destination',
    input: {
      flow: flow('udp', client, ['1.1.1.1', 53], ['1.1.1.1', 53]),
      currentSnapshot: dnsUp,
      timeouts: refreshed,
    },
    verdict: 'ok',
    severity: 'ok',
    keptAlive: false,
  },
  {
    name: 'TCP flow to the same VIP:port is not judged by UDP rules',
    input: { flow: flow('tcp', client, vip, vip), currentSnapshot: dnsUp },
    verdict: 'ok',
    severity: 'ok',
  },
  {
    name: 'TCP flow even with a TCP frontend is left alone',
    input: {
      flow: flow('tcp', client, vip, vip),
      currentSnapshot: snap(fe('tcp', '10.43.0.10', 53, [['10.42.0.5', 53]])),
    },
    verdict: 'ok',
    severity: 'ok',
  },
  {
    name: 'unanswered: DNATed to a live endpoint, silent for 20s',
    input: {
      flow: flow('udp', client, vip, ['10.42.0.5', 53]),
      currentSnapshot: dnsTwo,
      firstSeen: 0,
      now: 20_000,
    },
    verdict: 'unanswered',
    severity: 'warning',
    remedy: null,
    reasonIncludes: ['10.42.0.5:53', 'no reply for more than 10s'],
  },
  {
    name: 'young UNREPLIED flow to a live endpoint is ok',
    input: {
      flow: flow('udp', client, vip, ['10.42.0.5', 53]),
      currentSnapshot: dnsTwo,
      firstSeen: 0,
      now: 2_000,
    },
    verdict: 'ok',
    severity: 'ok',
  },
  {
    name: 'NodePort never DNATed',
    input: {
      flow: flow('udp', client, ['192.168.1.10', 30053], ['192.168.1.10', 30053]),
      currentSnapshot: snap(fe('udp', '*', 30053, [['10.42.0.5', 53]], 'default/echo:udp')),
    },
    verdict: 'no-dnat',
    severity: 'critical',
  },
  {
    name: 'IPv6 no-dnat gets an ipv6 remedy',
    input: {
      flow: flow('udp', ['fd00:42::33', 40000], ['fd00:43::a', 53], ['fd00:43::a', 53]),
      currentSnapshot: snap(fe('udp', 'fd00:43::a', 53, [['fd00:42::5', 53]])),
    },
    verdict: 'no-dnat',
    severity: 'critical',
    remedy:
      'conntrack -D -p udp -f ipv6 --orig-src fd00:42::33 --orig-dst fd00:43::a --sport 40000 --dport 53',
    reasonIncludes: ['[fd00:42::5]:53'],
  },
  {
    name: 'no snapshot at all',
    input: { flow: flow('udp', client, vip, vip) },
    verdict: 'ok',
    severity: 'ok',
  },
];

describe('classifyFlow: no-dnat reasons are remembered per frontend, never across what they depend on', () => {
  const nodeport = snap(fe('udp', '*', 30053, [['10.42.0.5', 53]], 'default/echo:udp'));
  const KEPT = 'the client keeps refreshing it';
  const GAP = 'created while the service had no NAT rules';
  // Run in this order on one frontend: each reason must be the one of its own flow, not the previous one's.
  const steps: Array<{
    name: string;
    input: Parameters<typeof classifyFlow>[0];
    has: string[];
    not: string[];
  }> = [
    {
      name: 'plain',
      input: { flow: flow('udp', client, vip, vip), currentSnapshot: dnsTwo },
      has: ['10.43.0.10:53'],
      not: [KEPT, GAP],
    },
    {
      name: 'kept alive',
      input: { flow: flow('udp', client, vip, vip), currentSnapshot: dnsTwo, timeouts: refreshed },
      has: [KEPT],
      not: [GAP],
    },
    {
      name: 'created in a rule gap',
      input: { flow: flow('udp', client, vip, vip), currentSnapshot: dnsTwo, createdSnapshot: noRules },
      has: [GAP],
      not: [KEPT],
    },
    {
      name: 'both',
      input: {
        flow: flow('udp', client, vip, vip),
        currentSnapshot: dnsTwo,
        createdSnapshot: noRules,
        timeouts: refreshed,
      },
      has: [GAP, KEPT],
      not: [],
    },
    {
      name: 'plain again',
      input: { flow: flow('udp', client, vip, vip), currentSnapshot: dnsTwo },
      has: ['10.43.0.10:53'],
      not: [KEPT, GAP],
    },
    {
      name: 'nodeport via one node address',
      input: {
        flow: flow('udp', client, ['192.168.1.10', 30053], ['192.168.1.10', 30053]),
        currentSnapshot: nodeport,
      },
      has: ['192.168.1.10:30053'],
      not: ['192.168.1.11'],
    },
    {
      name: 'nodeport via another',
      input: {
        flow: flow('udp', client, ['192.168.1.11', 30053], ['192.168.1.11', 30053]),
        currentSnapshot: nodeport,
      },
      has: ['192.168.1.11:30053'],
      not: ['192.168.1.10'],
    },
  ];
  it('in sequence', () => {
    for (const step of steps) {
      const r = classifyFlow(step.input);
      expect(r.verdict, step.name).toBe('no-dnat');
      for (const s of step.has) expect(r.reason, step.name).toContain(s);
      for (const s of step.not) expect(r.reason, step.name).not.toContain(s);
      expect(r.remedy, step.name).toContain(`--orig-dst ${step.input.flow.orig.dst}`);
    }
  });
});

describe('classifyFlow', () => {
  it.each(cases)('$name', (c) => {
    const r = classifyFlow(c.input);
    expect(r.verdict).toBe(c.verdict);
    expect(r.severity).toBe(c.severity);
    if (c.keptAlive !== undefined) expect(r.keptAlive).toBe(c.keptAlive);
    if (c.gap !== undefined) expect(r.createdDuringRuleGap).toBe(c.gap);
    if (c.badFields) expect(r.badFields).toEqual(c.badFields);
    if (c.remedy !== undefined) expect(r.remedy).toBe(c.remedy);
    for (const s of c.reasonIncludes ?? []) expect(r.reason).toContain(s);
    if (r.verdict !== 'ok') expect(r.reason.split('. ').length).toBe(1);
  });
});

/**
 * kube-proxy 1.32+ reconciler (pkg/proxy/conntrack/cleanup.go), restated: for UDP services with at least one
 * serving endpoint, delete entries to a service IP:port or to *:NodePort whose reply source IP is not one of
 * the service's endpoint IPs.
 */
function reconcilerWouldDelete(s: NatSnapshot, f: Flow): boolean {
  if (f.proto !== 'udp') return false;
  for (const x of s.frontends) {
    if (x.proto !== 'udp' || x.endpoints.length === 0 || x.port !== f.orig.dport) continue;
    if (x.ip !== '*' && x.ip !== f.orig.dst) continue;
    if (!x.endpoints.some((e) => e.ip === f.reply.src)) return true;
  }
  return false;
}

describe('classifyFlow vs the kube-proxy reconciler', () => {
  // NodePorts live in 30000-32767 and service ports here do not, as on real clusters: a ClusterIP port equal to
  // another service's NodePort is the one case where ctscope (judging by the ClusterIP) and the reconciler differ.
  const ips = fc.constantFrom(
    '10.43.0.10',
    '10.43.0.11',
    '10.42.0.5',
    '10.42.0.6',
    '10.42.0.9',
    '192.168.1.10',
  );
  const endpointArb = fc.uniqueArray(
    fc.tuple(fc.constantFrom('10.42.0.5', '10.42.0.6', '10.42.0.7'), fc.constantFrom(53, 80)),
    {
      maxLength: 3,
      selector: ([i, p]) => `${i}:${p}`,
    },
  );
  const frontendArb = fc.oneof(
    fc.record({
      proto: fc.constantFrom('udp', 'tcp'),
      ip: fc.constantFrom('10.43.0.10', '10.43.0.11'),
      port: fc.constantFrom(53, 80),
      endpoints: endpointArb,
    }),
    fc.record({
      proto: fc.constantFrom('udp', 'tcp'),
      ip: fc.constant('*'),
      port: fc.constant(30053),
      endpoints: endpointArb,
    }),
  );
  const snapshotArb = fc
    .uniqueArray(frontendArb, { maxLength: 4, selector: (f) => `${f.proto}|${f.ip}|${f.port}` })
    .map((list) => snap(...list.map((f) => fe(f.proto, f.ip, f.port, f.endpoints))));
  const flowArb = fc
    .record({
      proto: fc.constantFrom('udp', 'tcp'),
      dst: ips,
      dport: fc.constantFrom(53, 80, 30053),
      rsrc: ips,
      rsport: fc.constantFrom(53, 80, 30053),
    })
    .map((r) => flow(r.proto, client, [r.dst, r.dport], [r.rsrc, r.rsport]));

  it('flags every entry the reconciler would delete as no-dnat or stale-endpoint (critical)', () => {
    let deleted = 0;
    fc.assert(
      fc.property(snapshotArb, flowArb, (s, f) => {
        if (!reconcilerWouldDelete(s, f)) return;
        deleted++;
        const r = classifyFlow({ flow: f, currentSnapshot: s });
        expect(['no-dnat', 'stale-endpoint']).toContain(r.verdict);
        expect(r.severity).toBe('critical');
      }),
      { numRuns: 5000 },
    );
    expect(deleted).toBeGreaterThan(100);
  });

  it('never flags an answered UDP flow whose reply comes from a current endpoint of its frontend', () => {
    fc.assert(
      fc.property(snapshotArb, flowArb, (s, f) => {
        const match = s.frontends.find(
          (x) => x.proto === f.proto && x.port === f.orig.dport && (x.ip === f.orig.dst || x.ip === '*'),
        );
        if (!match?.endpoints.some((e) => e.ip === f.reply.src && e.port === f.reply.sport)) return;
        const r = classifyFlow({ flow: { ...f, unreplied: false }, currentSnapshot: s });
        expect(r.verdict).toBe('ok');
      }),
      { numRuns: 5000 },
    );
  });
});

describe('classifyFlow vs the kube-proxy reconciler, with deliberate drops', () => {
  // Load-balancer frontends that drop some traffic on purpose (source ranges, Local policy with the pod CIDR
  // short-circuit), and clients inside and outside those ranges.
  const srcs = fc.constantFrom('10.42.0.33', '203.0.113.5', '198.51.100.7', '192.0.2.99');
  const dropArb = fc.oneof(
    fc.constant<FrontendDrop[] | undefined>(undefined),
    fc
      .subarray(['203.0.113.0/25', '198.51.100.0/24'])
      .map((allowed): FrontendDrop[] => [
        { kind: 'source-ranges', rule: 'nat KUBE-FW-X -j KUBE-MARK-DROP', allowedSources: allowed },
      ]),
    fc.constant<FrontendDrop[]>([
      {
        kind: 'no-local-endpoints',
        rule: 'filter KUBE-EXTERNAL-SERVICES "default/lb:p has no local endpoints" -j DROP',
        exemptSources: ['10.42.0.0/16'],
      },
    ]),
  );
  const lbArb = fc.record({
    ip: fc.constantFrom('192.0.2.30', '192.0.2.40'),
    port: fc.constantFrom(53, 80),
    endpoints: fc.uniqueArray(fc.tuple(fc.constantFrom('10.42.0.5', '10.42.1.6'), fc.constantFrom(53, 80)), {
      maxLength: 2,
      selector: ([i, p]) => `${i}:${p}`,
    }),
    drops: dropArb,
  });
  const snapshotArb = fc
    .uniqueArray(lbArb, { minLength: 1, maxLength: 3, selector: (f) => `${f.ip}|${f.port}` })
    .map((list) =>
      snap(
        ...list.map((f) => {
          const x: Frontend = {
            ...fe('udp', f.ip, f.port, f.endpoints, 'default/lb:p'),
            kind: 'load-balancer',
          };
          if (f.drops) x.drops = f.drops;
          return x;
        }),
      ),
    );
  const flowArb = fc
    .record({
      src: srcs,
      dst: fc.constantFrom('192.0.2.30', '192.0.2.40'),
      dport: fc.constantFrom(53, 80),
      rsrc: fc.constantFrom('192.0.2.30', '192.0.2.40', '10.42.0.5', '10.42.1.6', '10.42.0.9'),
      rsport: fc.constantFrom(53, 80),
    })
    .map((r) => flow('udp', [r.src, 40000], [r.dst, r.dport], [r.rsrc, r.rsport]));

  it('every entry the reconciler would delete is flagged critical, or blocked with the rule named', () => {
    let deleted = 0;
    let blocked = 0;
    fc.assert(
      fc.property(snapshotArb, flowArb, (s, f) => {
        if (!reconcilerWouldDelete(s, f)) return;
        deleted++;
        const r = classifyFlow({ flow: f, currentSnapshot: s });
        if (r.verdict === 'blocked') {
          blocked++;
          const frontend = s.frontends.find((x) => x.key === r.frontend)!;
          expect(f.reply.src).toBe(f.orig.dst);
          expect(frontend.drops?.some((d) => r.reason.includes(d.rule))).toBe(true);
          expect(r.reason).toMatch(
            /outside loadBalancerSourceRanges|Local and no local endpoint on this node/,
          );
          expect(r.severity).toBe('ok');
          expect(r.remedy).toBeNull();
        } else {
          expect(['no-dnat', 'stale-endpoint']).toContain(r.verdict);
          expect(r.severity).toBe('critical');
        }
      }),
      { numRuns: 5000 },
    );
    expect(deleted).toBeGreaterThan(100);
    expect(blocked).toBeGreaterThan(20);
  });

  it('blocks only sources the rules really drop: allowed and exempt sources stay critical', () => {
    fc.assert(
      fc.property(snapshotArb, flowArb, (s, f) => {
        const r = classifyFlow({ flow: f, currentSnapshot: s });
        if (r.verdict !== 'blocked') return;
        const drops = s.frontends.find((x) => x.key === r.frontend)!.drops!;
        const src = f.orig.src;
        const inside = (cidrs: string[] | undefined) =>
          (cidrs ?? []).some((c) =>
            c.startsWith('10.42.')
              ? src.startsWith('10.42.')
              : src.startsWith(c.split('.').slice(0, 3).join('.')),
          );
        const applies = drops.some((d) =>
          d.kind === 'source-ranges' ? !inside(d.allowedSources) : !inside(d.exemptSources),
        );
        expect(applies).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
