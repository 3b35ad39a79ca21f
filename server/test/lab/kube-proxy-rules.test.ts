import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIptablesSave } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import {
  endpointChainName,
  joinHostPort,
  type KubeService,
  renderKubeProxyNat,
  serviceChainName,
  statisticProbability,
  withoutSaveComments,
} from '../../src/lab/kube-proxy-rules.js';
import { labNatRules } from '../../src/lab/lab-rules.js';
import { labTopology } from '../../src/lab/lab-topology.js';

const SEED = join(import.meta.dirname, '..', '..', '..', 'shared', 'test', 'fixtures', 'seed-incident');

const kubeDns = (endpoints: KubeService['endpoints']): KubeService => ({
  namespace: 'kube-system',
  name: 'kube-dns',
  portName: 'dns',
  proto: 'udp',
  clusterIp: '10.43.0.10',
  port: 53,
  endpoints,
});

describe('kube-proxy chain names', () => {
  it("are kube-proxy's hashes (the seed capture's real chain names)", () => {
    expect(serviceChainName('kube-system/kube-dns:dns', 'udp')).toBe('KUBE-SVC-TCOU7JCQXEZGVUNU');
    expect(serviceChainName('kube-system/kube-dns:dns-tcp', 'tcp')).toBe('KUBE-SVC-ERIFXISQEP7F7OF4');
    expect(endpointChainName('kube-system/kube-dns:dns', 'udp', { ip: '172.20.112.199', port: 53 })).toBe(
      'KUBE-SEP-2NOFLIOVOWN7BA6Y',
    );
  });
});

describe('statisticProbability', () => {
  it.each([
    [2, 0, '0.50000000000'],
    [3, 0, '0.33333333349'],
    [3, 1, '0.50000000000'],
    [4, 0, '0.25000000000'],
  ])('endpoint %#: 1/(n-i) as iptables-save prints it', (n, i, printed) => {
    expect(statisticProbability(n, i)).toBe(printed);
  });
});

describe('renderKubeProxyNat', () => {
  it('reproduces the seed capture nat-before.txt exactly (minus the timestamp comments)', () => {
    const seed = readFileSync(join(SEED, 'nat-before.txt'), 'utf8');
    const rendered = renderKubeProxyNat([kubeDns([{ ip: '172.20.112.199', port: 53 }])], {
      podCidr: '10.42.0.0/16',
    });
    expect(rendered).toBe(withoutSaveComments(seed));
  });

  it('reproduces nat-during.txt when the service has no rules', () => {
    const seed = readFileSync(join(SEED, 'nat-during.txt'), 'utf8');
    expect(renderKubeProxyNat([kubeDns([])], { podCidr: '10.42.0.0/16' })).toBe(withoutSaveComments(seed));
  });

  it('splits two endpoints with statistic random 0.5 and parses back to one frontend with both', () => {
    const text = renderKubeProxyNat(
      [
        kubeDns([
          { ip: '10.42.0.11', port: 53 },
          { ip: '10.42.0.12', port: 53 },
        ]),
      ],
      { podCidr: '10.42.0.0/16' },
    );
    expect(text).toContain(
      '-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.42.0.11:53" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-',
    );
    expect(text).toMatch(
      /-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system\/kube-dns:dns -> 10\.42\.0\.12:53" -j KUBE-SEP-\w+\n/,
    );
    const snap = parseIptablesSave(text);
    expect(snap.warnings).toEqual([]);
    expect(snap.frontends).toHaveLength(1);
    expect(snap.frontends[0]).toMatchObject({
      ip: '10.43.0.10',
      port: 53,
      proto: 'udp',
      service: 'kube-system/kube-dns:dns',
    });
    expect(snap.frontends[0]!.endpoints).toEqual([
      { ip: '10.42.0.11', port: 53 },
      { ip: '10.42.0.12', port: 53 },
    ]);
  });
});

describe('renderKubeProxyNat for IPv6', () => {
  const text = renderKubeProxyNat(
    [
      {
        ...kubeDns([
          { ip: 'fd00:42::11', port: 53 },
          { ip: 'fd00:42::12', port: 53 },
        ]),
        clusterIp: 'fd00:43::a',
      },
    ],
    { podCidr: 'fd00:42::/56', family: 6 },
  );

  it("prints hosts as /128 and endpoints as [ip]:port, like ip6tables-save, with kube-proxy's chain names", () => {
    const sep = endpointChainName('kube-system/kube-dns:dns', 'udp', { ip: 'fd00:42::11', port: 53 });
    expect(text).toContain(
      '-A KUBE-SERVICES -d fd00:43::a/128 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU',
    );
    expect(text).toContain(
      `-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> [fd00:42::11]:53" -m statistic --mode random --probability 0.50000000000 -j ${sep}`,
    );
    expect(text).toContain(
      `-A ${sep} -s fd00:42::11/128 -m comment --comment "kube-system/kube-dns:dns" -j KUBE-MARK-MASQ`,
    );
    expect(text).toContain(
      `-A ${sep} -p udp -m comment --comment "kube-system/kube-dns:dns" -m udp -j DNAT --to-destination [fd00:42::11]:53`,
    );
    expect(text).toContain(
      '-A POSTROUTING -s fd00:42::/56 ! -d fd00:42::/56 -m comment --comment "flanneld masq"',
    );
    expect(text).not.toMatch(/\/32\b/);
  });

  it('hashes the endpoint as kube-proxy does (JoinHostPort: brackets for IPv6)', () => {
    expect(joinHostPort('fd00:42::11', 53)).toBe('[fd00:42::11]:53');
    expect(joinHostPort('10.42.0.11', 53)).toBe('10.42.0.11:53');
    // base32(sha256("kube-system/kube-dns:dnsudp[fd00:42::11]:53"))[:16], computed independently (python hashlib).
    expect(endpointChainName('kube-system/kube-dns:dns', 'udp', { ip: 'fd00:42::11', port: 53 })).toBe(
      'KUBE-SEP-ZVZIOMSXBPQSPU7C',
    );
  });

  it('parses back into one IPv6 frontend with both endpoints', () => {
    const snap = parseIptablesSave(text);
    expect(snap.warnings).toEqual([]);
    expect(snap.frontends.map((f) => [f.ip, f.port, f.endpoints.map((e) => e.ip)])).toEqual([
      ['fd00:43::a', 53, ['fd00:42::11', 'fd00:42::12']],
    ]);
  });
});

describe("the lab's rules", () => {
  const t = labTopology('ctlab');
  const state = {
    topology: t,
    podIps: Object.fromEntries(t.pods.map((p) => [p.key, p.ip])),
    servicesWithoutRules: [] as string[],
  };

  it('have both services with their endpoints', () => {
    const snap = parseIptablesSave(labNatRules(state));
    const byIp = Object.fromEntries(
      snap.frontends.map((f) => [f.ip, f.endpoints.map((e) => `${e.ip}:${e.port}`)]),
    );
    expect(byIp).toEqual({
      '10.43.0.10': ['10.42.0.11:53', '10.42.0.12:53'],
      '10.43.0.20': ['10.42.0.21:7'],
    });
  });

  it('have the dual-stack DNS service in the ip6tables nat table, and only that one', () => {
    const snap = parseIptablesSave(labNatRules(state, 6));
    expect(snap.frontends.map((f) => [f.ip, f.endpoints.map((e) => `${e.ip}:${e.port}`)])).toEqual([
      ['fd00:43::a', ['fd00:42::11:53', 'fd00:42::12:53']],
    ]);
  });

  it('remove the restarted service from both families while its rules are gone', () => {
    const gone = { ...state, servicesWithoutRules: ['dns'] };
    expect(parseIptablesSave(labNatRules(gone, 6)).frontends).toEqual([]);
    expect(labNatRules(gone, 6)).toContain('flanneld masq');
  });

  it('drop only the restarted service while its rules are gone, keeping the masquerade', () => {
    const text = labNatRules({ ...state, servicesWithoutRules: ['dns'] });
    expect(parseIptablesSave(text).frontends.map((f) => f.ip)).toEqual(['10.43.0.20']);
    expect(text).toContain(
      '-A POSTROUTING -s 10.42.0.0/16 ! -d 10.42.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
    );
    expect(text).not.toContain('KUBE-SVC-TCOU7JCQXEZGVUNU');
  });

  it('follow a replaced endpoint to its new address', () => {
    const text = labNatRules({ ...state, podIps: { ...state.podIps, 'dns-a': '10.42.0.101' } });
    const dns = parseIptablesSave(text).frontends.find((f) => f.ip === '10.43.0.10')!;
    expect(dns.endpoints.map((e) => e.ip).sort()).toEqual(['10.42.0.101', '10.42.0.12']);
  });
});
