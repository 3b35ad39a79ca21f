import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NatSnapshot } from '../src/nat/nat-types.js';
import { parseIpvsadm } from '../src/nat/parse-ipvsadm.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** One line per frontend: `key kind -> ip:port,…`. */
function summarize(s: NatSnapshot): string[] {
  return s.frontends.map((f) => {
    const eps = f.endpoints.map((e) => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`));
    return `${f.key} ${f.kind} -> ${eps.join(',')}`;
  });
}

const HEADER = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
];
const dump = (...lines: string[]): string => [...HEADER, ...lines, ''].join('\n');

describe('parseIpvsadm', () => {
  it('parses the ipvsadm -Ln fixture', () => {
    const s = parseIpvsadm(fixture('nat/ipvsadm.txt'), { takenAt: 7 });
    expect(s.source).toBe('ipvs');
    expect(s.takenAt).toBe(7);
    expect(summarize(s)).toEqual([
      'sctp|10.43.77.7|3868 cluster-ip -> 10.42.0.9:3868',
      'tcp|10.43.0.10|53 cluster-ip -> 10.42.0.5:53,10.42.0.6:53',
      'tcp|10.43.0.10|9153 cluster-ip -> 10.42.0.5:9153,10.42.0.6:9153',
      'tcp|10.43.0.1|443 cluster-ip -> 172.20.112.199:6443',
      'tcp|10.43.12.34|80 cluster-ip -> 10.42.0.7:8080',
      'tcp|10.43.99.1|8080 cluster-ip -> ',
      'tcp|172.20.112.199|30080 cluster-ip -> 10.42.0.7:8080',
      'tcp|fd00:43::a|53 cluster-ip -> [fd00::5]:53',
      'udp|10.43.0.10|53 cluster-ip -> 10.42.0.5:53,10.42.0.6:53',
      'udp|fd00:43::a|53 cluster-ip -> [fd00::5]:53',
    ]);
    expect(s.warnings).toEqual(['line 26: firewall-mark service FWM 1 has no address; skipped']);
  });

  it.each([
    {
      name: 'the seed VIP with one real server',
      text: dump(
        'UDP  10.43.0.10:53 rr',
        '  -> 172.20.112.199:53            Masq    1      0          0         ',
      ),
      expected: ['udp|10.43.0.10|53 cluster-ip -> 172.20.112.199:53'],
    },
    {
      name: 'a virtual service with no real servers',
      text: dump('UDP  10.43.0.10:53 rr'),
      expected: ['udp|10.43.0.10|53 cluster-ip -> '],
    },
    {
      name: 'persistent and one-packet flags',
      text: dump('UDP  10.43.0.10:53 rr persistent 10800 ops', '  -> 10.42.0.5:53 Masq 1 0 0'),
      expected: ['udp|10.43.0.10|53 cluster-ip -> 10.42.0.5:53'],
    },
    {
      name: 'real servers under an FWM service are not attached to the next service',
      text: dump(
        'FWM  7 rr',
        '  -> 10.42.0.8:80 Masq 1 0 0',
        'TCP  10.43.0.2:80 rr',
        '  -> 10.42.0.9:80 Masq 1 0 0',
      ),
      expected: ['tcp|10.43.0.2|80 cluster-ip -> 10.42.0.9:80'],
      warnings: ['line 4: firewall-mark service FWM 7 has no address; skipped'],
    },
    {
      name: 'no header (piped through tail)',
      text: 'TCP  10.43.0.3:80 wrr\n  -> 10.42.0.10:80 Route 2 0 0\n  -> 10.42.0.10:80 Route 2 0 0\n',
      expected: ['tcp|10.43.0.3|80 cluster-ip -> 10.42.0.10:80'],
    },
    {
      name: 'IPv6 real servers are canonicalised',
      text: dump('TCP  [FD00:43:0::b]:443 rr', '  -> [fd00:0:0::7]:8443 Masq 1 0 0'),
      expected: ['tcp|fd00:43::b|443 cluster-ip -> [fd00::7]:8443'],
    },
  ])('$name', ({ text, expected, warnings = [] }) => {
    const s = parseIpvsadm(text);
    expect(s.warnings).toEqual(warnings);
    expect(summarize(s)).toEqual(expected);
  });

  it.each([
    {
      name: 'names instead of numbers (no -n)',
      text: dump('UDP  kube-dns.kube-system:domain rr'),
      warning: /use -n/,
    },
    {
      name: 'named real server',
      text: dump('UDP  10.43.0.10:53 rr', '  -> coredns-abc:domain Masq 1 0 0'),
      warning: /real server address is not numeric/,
    },
    {
      name: 'real server before any service',
      text: dump('  -> 10.42.0.5:53 Masq 1 0 0'),
      warning: /before any virtual service/,
    },
    { name: 'garbage', text: 'hello\nworld', warning: /unrecognised line/ },
    { name: 'iptables text', text: fixture('seed-incident/nat-before.txt'), warning: /unrecognised line/ },
  ])('$name: warns, never throws', ({ text, warning }) => {
    const s = parseIpvsadm(text);
    expect(s.warnings.some((w) => warning.test(w))).toBe(true);
  });
});
