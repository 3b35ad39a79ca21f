import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compareEndpoints,
  diffSnapshots,
  findFrontend,
  isDiffEmpty,
  makeSnapshot,
  normalizeIp,
} from '../src/nat/nat-snapshot.js';
import type { Frontend, FrontendKind } from '../src/nat/nat-types.js';
import { parseIptablesSave } from '../src/nat/parse-iptables-save.js';
import { detectNatFormat, parseNatSnapshot } from '../src/nat/parse-nat-snapshot.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function fe(
  proto: string,
  ip: string,
  port: number,
  endpoints: string[],
  extra: { kind?: FrontendKind; service?: string; noEndpointsRule?: boolean } = {},
): Frontend {
  const f: Frontend = {
    key: `${proto}|${ip}|${port}`,
    kind: extra.kind ?? (ip === '*' ? 'nodeport' : 'cluster-ip'),
    ip,
    port,
    proto,
    endpoints: endpoints.map((e) => {
      const i = e.lastIndexOf(':');
      return { ip: e.slice(0, i), port: Number(e.slice(i + 1)) };
    }),
  };
  if (extra.service !== undefined) f.service = extra.service;
  if (extra.noEndpointsRule !== undefined) f.noEndpointsRule = extra.noEndpointsRule;
  return f;
}

describe('normalizeIp', () => {
  it.each([
    ['10.43.0.10/32', '10.43.0.10'],
    ['10.43.0.10', '10.43.0.10'],
    ['[fd00::5]', 'fd00::5'],
    ['fd00::5/128', 'fd00::5'],
    ['FD00:0:0:0:0:0:0:5', 'fd00::5'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['not-an-ip', 'not-an-ip'],
  ])('%s -> %s', (raw, expected) => {
    expect(normalizeIp(raw)).toBe(expected);
  });
});

describe('makeSnapshot', () => {
  it('sorts frontends by key and endpoints numerically, deduplicating and normalising', () => {
    const s = makeSnapshot(
      'iptables',
      [
        fe('udp', '10.43.0.10/32', 53, ['10.42.0.10:53', '10.42.0.9:53', '10.42.0.10:53']),
        fe('tcp', '[fd00::a]', 53, ['[fd00:0::6]:53', 'fd00::5:53']),
        fe('UDP', '10.43.0.2', 53, []),
      ],
      [],
    );
    expect(s.frontends.map((f) => f.key)).toEqual([
      'tcp|fd00::a|53',
      'udp|10.43.0.10|53',
      'udp|10.43.0.2|53',
    ]);
    expect(s.frontends[1]!.endpoints).toEqual([
      { ip: '10.42.0.9', port: 53 },
      { ip: '10.42.0.10', port: 53 },
    ]);
    expect(s.frontends[0]!.endpoints).toEqual([
      { ip: 'fd00::5', port: 53 },
      { ip: 'fd00::6', port: 53 },
    ]);
    expect(s.frontends[2]!.proto).toBe('udp');
  });

  it('merges frontends with the same key: first kind and name win, endpoints are unioned', () => {
    const s = makeSnapshot(
      'iptables',
      [
        fe('tcp', '*', 30080, ['10.42.0.7:8080'], { service: 'default/web:http' }),
        fe('tcp', '*', 30080, ['10.42.0.8:8080'], { service: 'other' }),
      ],
      [],
    );
    expect(s.frontends).toHaveLength(1);
    expect(s.frontends[0]!.service).toBe('default/web:http');
    expect(s.frontends[0]!.endpoints.map((e) => e.ip)).toEqual(['10.42.0.7', '10.42.0.8']);
  });

  it.each([
    {
      name: 'no endpoints at all',
      inputs: [fe('udp', '10.0.0.1', 53, [], { noEndpointsRule: true })],
      flag: true,
    },
    {
      name: 'a Local-policy DROP merged with a DNATing frontend',
      inputs: [
        fe('udp', '10.0.0.1', 53, ['10.42.0.5:53']),
        fe('udp', '10.0.0.1', 53, [], { noEndpointsRule: true }),
      ],
      flag: undefined,
    },
    { name: 'no endpoints and no rule', inputs: [fe('udp', '10.0.0.1', 53, [])], flag: undefined },
  ])('noEndpointsRule with $name', ({ inputs, flag }) => {
    expect(makeSnapshot('iptables', inputs, []).frontends[0]!.noEndpointsRule).toBe(flag);
  });

  it('hashes content only: not takenAt, warnings or input order', () => {
    const a = [
      fe('udp', '10.43.0.10', 53, ['10.42.0.5:53', '10.42.0.6:53']),
      fe('tcp', '10.43.0.1', 443, ['1.1.1.1:6443']),
    ];
    const b = [
      fe('tcp', '10.43.0.1', 443, ['1.1.1.1:6443']),
      fe('udp', '10.43.0.10', 53, ['10.42.0.6:53', '10.42.0.5:53']),
    ];
    const s1 = makeSnapshot('iptables', a, [], 1);
    const s2 = makeSnapshot('iptables', b, ['some warning'], 2);
    expect(s1.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(s2.hash).toBe(s1.hash);
    expect(s1.takenAt).toBe(1);
    expect(s2.warnings).toEqual(['some warning']);
  });

  it.each([
    { name: 'an endpoint port', change: fe('udp', '10.43.0.10', 53, ['10.42.0.5:54']) },
    { name: 'an endpoint address', change: fe('udp', '10.43.0.10', 53, ['10.42.0.6:53']) },
    { name: 'the kind', change: fe('udp', '10.43.0.10', 53, ['10.42.0.5:53'], { kind: 'external-ip' }) },
    { name: 'the service name', change: fe('udp', '10.43.0.10', 53, ['10.42.0.5:53'], { service: 'x' }) },
    { name: 'the frontend port', change: fe('udp', '10.43.0.10', 54, ['10.42.0.5:53']) },
  ])('changes the hash when $name changes', ({ change }) => {
    const base = makeSnapshot('iptables', [fe('udp', '10.43.0.10', 53, ['10.42.0.5:53'])], []);
    expect(makeSnapshot('iptables', [change], []).hash).not.toBe(base.hash);
  });

  it('does not mutate its input', () => {
    const input = fe('udp', '10.43.0.10/32', 53, ['10.42.0.6:53', '10.42.0.5:53']);
    const copy = structuredClone(input);
    makeSnapshot('iptables', [input], []);
    expect(input).toEqual(copy);
  });

  it('orders IPv4 before IPv6 before anything else', () => {
    const eps = [
      { ip: 'zzz', port: 1 },
      { ip: 'fd00::1', port: 1 },
      { ip: '9.0.0.1', port: 2 },
      { ip: '9.0.0.1', port: 1 },
    ];
    expect([...eps].sort(compareEndpoints)).toEqual([eps[3], eps[2], eps[1], eps[0]]);
  });
});

describe('diffSnapshots', () => {
  const before = parseIptablesSave(fixture('seed-incident/nat-before.txt'));
  const during = parseIptablesSave(fixture('seed-incident/nat-during.txt'));
  const after = parseIptablesSave(fixture('seed-incident/nat-after.txt'));
  const moved = parseIptablesSave(
    fixture('seed-incident/nat-after.txt').replace(
      '--to-destination 172.20.112.199:53',
      '--to-destination 172.20.112.200:53',
    ),
  );

  it('before -> during: the kube-dns frontend disappears', () => {
    const d = diffSnapshots(before, during);
    expect(d.removedFrontends.map((f) => f.key)).toEqual(['udp|10.43.0.10|53']);
    expect(d.addedFrontends).toEqual([]);
    expect(d.changedFrontends).toEqual([]);
    expect(isDiffEmpty(d)).toBe(false);
  });

  it('during -> after: it comes back', () => {
    const d = diffSnapshots(during, after);
    expect(d.addedFrontends.map((f) => f.key)).toEqual(['udp|10.43.0.10|53']);
    expect(d.addedFrontends[0]!.endpoints).toEqual([{ ip: '172.20.112.199', port: 53 }]);
    expect(d.removedFrontends).toEqual([]);
    expect(isDiffEmpty(d)).toBe(false);
  });

  it('before -> after: nothing changed', () => {
    expect(isDiffEmpty(diffSnapshots(before, after))).toBe(true);
  });

  it('an endpoint change is reported per frontend', () => {
    const d = diffSnapshots(after, moved);
    expect(d.addedFrontends).toEqual([]);
    expect(d.removedFrontends).toEqual([]);
    expect(d.changedFrontends).toEqual([
      {
        key: 'udp|10.43.0.10|53',
        service: 'kube-system/kube-dns:dns',
        addedEndpoints: [{ ip: '172.20.112.200', port: 53 }],
        removedEndpoints: [{ ip: '172.20.112.199', port: 53 }],
      },
    ]);
  });

  it('ignores endpoint order and reports only the endpoints that differ', () => {
    const a = makeSnapshot('nft', [fe('udp', '10.0.0.1', 53, ['10.42.0.5:53', '10.42.0.6:53'])], []);
    const b = makeSnapshot('nft', [fe('udp', '10.0.0.1', 53, ['10.42.0.6:53', '10.42.0.7:53'])], []);
    const d = diffSnapshots(a, b);
    expect(d.changedFrontends).toEqual([
      {
        key: 'udp|10.0.0.1|53',
        addedEndpoints: [{ ip: '10.42.0.7', port: 53 }],
        removedEndpoints: [{ ip: '10.42.0.5', port: 53 }],
      },
    ]);
  });
});

describe('isDiffEmpty', () => {
  const f = fe('udp', '10.0.0.1', 53, []);
  it.each([
    { name: 'empty', diff: { addedFrontends: [], removedFrontends: [], changedFrontends: [] }, empty: true },
    {
      name: 'added',
      diff: { addedFrontends: [f], removedFrontends: [], changedFrontends: [] },
      empty: false,
    },
    {
      name: 'removed',
      diff: { addedFrontends: [], removedFrontends: [f], changedFrontends: [] },
      empty: false,
    },
    {
      name: 'changed',
      diff: {
        addedFrontends: [],
        removedFrontends: [],
        changedFrontends: [
          { key: f.key, addedEndpoints: [], removedEndpoints: [{ ip: '1.1.1.1', port: 1 }] },
        ],
      },
      empty: false,
    },
  ])('$name', ({ diff, empty }) => {
    expect(isDiffEmpty(diff)).toBe(empty);
  });
});

describe('findFrontend', () => {
  const s = makeSnapshot(
    'iptables',
    [
      fe('udp', '10.43.0.10', 53, ['10.42.0.5:53']),
      fe('tcp', '*', 30080, ['10.42.0.7:8080']),
      fe('tcp', '10.43.0.20', 30080, ['10.42.0.9:80']),
      fe('udp', 'fd00:43::a', 53, ['fd00::5:53']),
    ],
    [],
  );

  it.each([
    { name: 'exact cluster IP', proto: 'udp', ip: '10.43.0.10', port: 53, key: 'udp|10.43.0.10|53' },
    { name: 'IPv6 cluster IP', proto: 'udp', ip: 'fd00:43::a', port: 53, key: 'udp|fd00:43::a|53' },
    { name: 'nodeport on any address', proto: 'tcp', ip: '172.20.112.199', port: 30080, key: 'tcp|*|30080' },
    {
      name: 'exact match beats the nodeport',
      proto: 'tcp',
      ip: '10.43.0.20',
      port: 30080,
      key: 'tcp|10.43.0.20|30080',
    },
    { name: 'wrong protocol', proto: 'tcp', ip: '10.43.0.10', port: 53, key: undefined },
    { name: 'wrong port', proto: 'udp', ip: '10.43.0.10', port: 54, key: undefined },
    {
      name: 'nodeport needs the same protocol',
      proto: 'udp',
      ip: '172.20.112.199',
      port: 30080,
      key: undefined,
    },
  ])('$name', ({ proto, ip, port, key }) => {
    expect(findFrontend(s, proto, ip, port)?.key).toBe(key);
  });

  it('returns the snapshot’s own frontend objects, per snapshot', () => {
    const other = makeSnapshot('iptables', [fe('udp', '10.43.0.10', 53, ['10.42.0.6:53'])], []);
    expect(findFrontend(s, 'udp', '10.43.0.10', 53)).toBe(
      s.frontends.find((f) => f.key === 'udp|10.43.0.10|53'),
    );
    expect(findFrontend(other, 'udp', '10.43.0.10', 53)?.endpoints[0]?.ip).toBe('10.42.0.6');
    expect(findFrontend(s, 'udp', '10.43.0.10', 53)?.endpoints[0]?.ip).toBe('10.42.0.5');
  });

  it('answers lookups as fast with 20,000 frontends as with 20 (indexed, not a scan)', () => {
    const snapshotOf = (n: number) =>
      makeSnapshot(
        'iptables',
        Array.from({ length: n }, (_, i) => fe('udp', `10.43.${i >> 8}.${i & 255}`, 53, [])),
        [],
      );
    // Keys spread over the whole snapshot, so a scan that stops at the first match still walks half of it.
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `10.43.${i >> 8}.${i & 255}`);
    const lookups = (snap: ReturnType<typeof snapshotOf>, ips: string[]): { hits: number; ms: number } => {
      const start = performance.now();
      let hits = 0;
      for (let i = 0; i < 200_000; i++) if (findFrontend(snap, 'udp', ips[i % ips.length]!, 53)) hits++;
      return { hits, ms: performance.now() - start };
    };
    const small = snapshotOf(20);
    const big = snapshotOf(20_000);
    const [smallKeys, bigKeys] = [keys(20), keys(20_000)];
    lookups(small, smallKeys); // warm-up
    // The best of five interleaved rounds each: a busy machine only ever makes a round slower.
    let a = { hits: 0, ms: Number.POSITIVE_INFINITY };
    let b = { hits: 0, ms: Number.POSITIVE_INFINITY };
    for (let round = 0; round < 5; round++) {
      const ra = lookups(small, smallKeys);
      const rb = lookups(big, bigKeys);
      if (ra.ms < a.ms) a = ra;
      if (rb.ms < b.ms) b = rb;
    }
    expect([a.hits, b.hits]).toEqual([200_000, 200_000]);
    // A scan is 1000x the work with 1000x the frontends; an index costs about the same. Same-run ratio, not ms.
    expect(b.ms / a.ms).toBeLessThan(10);
  });
});

const FIXTURES = [
  { file: 'seed-incident/nat-before.txt', format: 'iptables' },
  { file: 'seed-incident/nat-during.txt', format: 'iptables' },
  { file: 'seed-incident/nat-after.txt', format: 'iptables' },
  { file: 'nat/iptables-kube-proxy-1.28.txt', format: 'iptables' },
  { file: 'nat/ip6tables-kube-proxy.txt', format: 'iptables' },
  { file: 'nat/nft-kube-proxy.json', format: 'nft' },
  { file: 'nat/nft-kube-proxy-ip6.json', format: 'nft' },
  { file: 'nat/ipvsadm.txt', format: 'ipvs' },
] as const;

describe('detectNatFormat', () => {
  it.each(FIXTURES)('$file is $format', ({ file, format }) => {
    expect(detectNatFormat(fixture(file))).toBe(format);
  });

  it.each([
    {
      name: 'pretty-printed nft JSON',
      text: JSON.stringify(JSON.parse(fixture('nat/nft-kube-proxy.json')), null, 2),
      format: 'nft',
    },
    { name: 'truncated nft JSON', text: fixture('nat/nft-kube-proxy.json').slice(0, 200), format: 'nft' },
    { name: 'nft JSON with leading metainfo spacing', text: ' \n{ "nftables" : [] }', format: 'nft' },
    {
      name: 'iptables-save -t nat without header',
      text: '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n',
      format: 'iptables',
    },
    { name: 'a bare rule', text: '-A KUBE-SERVICES -j KUBE-NODEPORTS\n', format: 'iptables' },
    { name: 'ipvsadm without header', text: 'UDP  10.43.0.10:53 rr\n', format: 'ipvs' },
    { name: 'empty', text: '', format: undefined },
    { name: 'conntrack -L output', text: fixture('seed-incident/list-poll.txt'), format: undefined },
    { name: 'conntrack -E output', text: fixture('seed-incident/events-default.txt'), format: undefined },
    { name: 'conntrack XML', text: fixture('seed-incident/events-xml.txt'), format: undefined },
    { name: 'unrelated JSON object', text: '{"a": 1}', format: undefined },
    { name: 'broken JSON', text: '{"a": ', format: undefined },
    { name: 'JSON array', text: '[1]', format: undefined },
  ])('$name -> $format', ({ text, format }) => {
    expect(detectNatFormat(text)).toBe(format);
  });
});

describe('parseNatSnapshot', () => {
  it.each(FIXTURES)('dispatches $file to the $format parser', ({ file, format }) => {
    const s = parseNatSnapshot(fixture(file), { takenAt: 99 });
    expect(s.source).toBe(format);
    expect(s.takenAt).toBe(99);
  });

  it('finds the seed frontend through the dispatcher', () => {
    const s = parseNatSnapshot(fixture('seed-incident/nat-before.txt'));
    expect(findFrontend(s, 'udp', '10.43.0.10', 53)?.endpoints).toEqual([{ ip: '172.20.112.199', port: 53 }]);
  });

  it.each([
    { name: 'empty', text: '' },
    { name: 'conntrack output', text: fixture('seed-incident/list-poll.txt') },
    { name: 'unrelated JSON', text: '{"hello": "world"}' },
  ])('throws a clear error for an unknown format: $name', ({ text }) => {
    expect(() => parseNatSnapshot(text)).toThrow(
      /Unrecognised NAT rule dump.*iptables-save.*nft -j.*ipvsadm -Ln/,
    );
  });

  it('does not throw for a broken nft dump: it returns warnings', () => {
    const s = parseNatSnapshot('{"nftables": [ {"table": ');
    expect(s.source).toBe('nft');
    expect(s.warnings[0]).toMatch(/not valid JSON/);
  });
});
