/**
 * `blocked`: flows kube-proxy drops on purpose, judged against real rule layouts (iptables-save and nft -j output
 * of kube-proxy's layouts loaded into a network namespace; see fixtures/nat/README.md). Each layout comes in two
 * node states: no local endpoint for the Local-policy services, and (same services) a local endpoint.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FlowRecord, NatSnapshot } from '../src/index.js';
import { classifyFlow, parseIptablesSave, parseNftKubeProxy } from '../src/index.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/nat/${name}`, import.meta.url), 'utf8');

type Flow = Pick<FlowRecord, 'proto' | 'orig' | 'reply' | 'unreplied'>;

/** A UDP entry from `src` to `dst:dport`, never DNATed: its reply comes from the frontend itself. */
function neverDnated(src: string, dst: string, dport: number): Flow {
  return {
    proto: 'udp',
    orig: { src, dst, sport: 40000, dport },
    reply: { src: dst, dst: src, sport: dport, dport: 40000 },
    unreplied: true,
  };
}

const LAYOUTS: Array<{ name: string; blocked: NatSnapshot; local?: NatSnapshot }> = [
  {
    name: 'iptables, kube-proxy ≥1.28 (filter DROP, KUBE-FW + KUBE-PROXY-FIREWALL)',
    blocked: parseIptablesSave(fixture('iptables-blocked.txt')),
    local: parseIptablesSave(fixture('iptables-local-endpoint.txt')),
  },
  {
    name: 'iptables, kube-proxy <1.24 (KUBE-FW / KUBE-XLB -> KUBE-MARK-DROP)',
    blocked: parseIptablesSave(fixture('iptables-pre-1.24.txt')),
  },
  {
    name: 'nft (no-endpoint-services drop, firewall-ips)',
    blocked: parseNftKubeProxy(fixture('nft-blocked.json')),
    local: parseNftKubeProxy(fixture('nft-local-endpoint.json')),
  },
];

const OUTSIDE = '192.0.2.99';
const POD = '10.42.0.33';
const ALLOWED = '203.0.113.5';
const NODE = '172.20.0.2';

interface Case {
  name: string;
  flow: Flow;
  verdict: string;
  severity: string;
  reasonIncludes?: string[];
  /** Layouts whose rules cannot express the case. */
  skip?: RegExp;
}

const BLOCKED_NODE: Case[] = [
  {
    name: 'external client to an externalTrafficPolicy Local LB IP, no local endpoint',
    flow: neverDnated(OUTSIDE, '192.0.2.30', 7777),
    verdict: 'blocked',
    severity: 'ok',
    reasonIncludes: [
      'externalTrafficPolicy Local and no local endpoint on this node',
      'default/game:udp',
      'endpoint placement',
    ],
  },
  {
    name: 'external client to its NodePort, no local endpoint',
    flow: neverDnated(OUTSIDE, NODE, 30777),
    verdict: 'blocked',
    severity: 'ok',
    reasonIncludes: ['externalTrafficPolicy Local and no local endpoint on this node', `${NODE}:30777`],
    skip: /<1\.24/,
  },
  {
    name: 'pod client to the same LB IP never DNATed: pods are short-circuited, so this is a real no-dnat',
    flow: neverDnated(POD, '192.0.2.30', 7777),
    verdict: 'no-dnat',
    severity: 'critical',
  },
  {
    name: 'client outside loadBalancerSourceRanges',
    flow: neverDnated(OUTSIDE, '192.0.2.40', 514),
    verdict: 'blocked',
    severity: 'ok',
    reasonIncludes: [
      'source 192.0.2.99 outside loadBalancerSourceRanges',
      '203.0.113.0/25',
      'default/syslog:syslog',
    ],
  },
  {
    name: 'client inside loadBalancerSourceRanges never DNATed: a real no-dnat',
    flow: neverDnated(ALLOWED, '192.0.2.40', 514),
    verdict: 'no-dnat',
    severity: 'critical',
  },
  {
    name: 'pod to an internalTrafficPolicy Local cluster IP, no local endpoint',
    flow: neverDnated(POD, '10.43.50.50', 53),
    verdict: 'blocked',
    severity: 'ok',
    reasonIncludes: [
      'internalTrafficPolicy Local and no local endpoint on this node',
      'kube-system/node-local-dns:dns',
    ],
    skip: /<1\.24/,
  },
  {
    name: 'the Cluster-policy cluster IP of the same service never DNATed: a real no-dnat',
    flow: neverDnated(POD, '10.43.30.30', 7777),
    verdict: 'no-dnat',
    severity: 'critical',
  },
];

describe.each(LAYOUTS)('$name', ({ name, blocked, local }) => {
  it('parses without warnings', () => {
    expect(blocked.warnings).toEqual([]);
    expect(local?.warnings ?? []).toEqual([]);
  });

  const cases = BLOCKED_NODE.filter((c) => !c.skip?.test(name));
  it.each(cases)('no local endpoint: $name → $verdict', (c) => {
    const r = classifyFlow({ flow: c.flow, currentSnapshot: blocked });
    expect(r.verdict).toBe(c.verdict);
    expect(r.severity).toBe(c.severity);
    for (const s of c.reasonIncludes ?? []) expect(r.reason).toContain(s);
    if (c.verdict === 'blocked') {
      expect(r.remedy).toBeNull();
      expect(r.badFields).toEqual([]);
      // It names the rule that drops.
      const f = blocked.frontends.find((x) => x.key === r.frontend)!;
      expect(f.drops?.some((d) => r.reason.includes(d.rule))).toBe(true);
      expect(r.reason).toContain('deleting this entry changes nothing');
      expect(r.reason).not.toContain('conntrack -D');
    } else {
      expect(r.remedy).toMatch(/^conntrack -D -p udp /);
    }
  });

  it.skipIf(!local)(
    'with a local endpoint, the same LB flow is a real no-dnat again (critical, with remedy)',
    () => {
      const r = classifyFlow({ flow: neverDnated(OUTSIDE, '192.0.2.30', 7777), currentSnapshot: local! });
      expect(r).toMatchObject({ verdict: 'no-dnat', severity: 'critical', service: 'default/game:udp' });
      expect(r.remedy).toBe(
        `conntrack -D -p udp --orig-src ${OUTSIDE} --orig-dst 192.0.2.30 --sport 40000 --dport 7777`,
      );
      // Source ranges do not depend on endpoint placement: still blocked there.
      expect(
        classifyFlow({ flow: neverDnated(OUTSIDE, '192.0.2.40', 514), currentSnapshot: local! }).verdict,
      ).toBe('blocked');
    },
  );

  it('a flow DNATed to an endpoint stays ok whatever its source', () => {
    const ep = blocked.frontends.find((f) => f.ip === '192.0.2.40')!.endpoints[0]!;
    const f: Flow = {
      proto: 'udp',
      orig: { src: OUTSIDE, dst: '192.0.2.40', sport: 40000, dport: 514 },
      reply: { src: ep.ip, dst: OUTSIDE, sport: ep.port, dport: 40000 },
      unreplied: false,
    };
    expect(classifyFlow({ flow: f, currentSnapshot: blocked }).verdict).toBe('ok');
  });
});

describe('blocked needs the drop to be in force now', () => {
  it('an entry born while the drop existed is a real no-dnat once a local endpoint appears', () => {
    const before = parseIptablesSave(fixture('iptables-blocked.txt'));
    const now = parseIptablesSave(fixture('iptables-local-endpoint.txt'));
    const r = classifyFlow({
      flow: neverDnated(OUTSIDE, '192.0.2.30', 7777),
      createdSnapshot: before,
      currentSnapshot: now,
    });
    expect(r.verdict).toBe('no-dnat');
  });
});
