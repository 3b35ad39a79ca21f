import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NatSnapshot } from '../src/nat/nat-types.js';
import { parseNftKubeProxy, serviceFromNftChain } from '../src/nat/parse-nft-kube-proxy.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** One line per frontend: `key kind service [!] -> ip:port,…` (`!` marks noEndpointsRule). */
function summarize(s: NatSnapshot): string[] {
  return s.frontends.map((f) => {
    const flag = f.noEndpointsRule ? ' !' : '';
    const eps = f.endpoints.map((e) => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`));
    return `${f.key} ${f.kind} ${f.service ?? '-'}${flag} -> ${eps.join(',')}`;
  });
}

type NftItem = Record<string, Record<string, unknown>>;
const items = (json: string): NftItem[] => (JSON.parse(json) as { nftables: NftItem[] }).nftables;
const wrap = (list: unknown[]): string => JSON.stringify({ nftables: list });

describe('parseNftKubeProxy on real nft -j output', () => {
  it.each([
    {
      name: 'ip kube-proxy',
      file: 'nat/nft-kube-proxy.json',
      expected: [
        'tcp|*|30080 nodeport default/web:http -> 10.42.0.7:8080',
        'tcp|*|30099 nodeport default/empty:http ! -> ',
        'tcp|10.43.0.10|53 cluster-ip kube-system/kube-dns:dns-tcp -> 10.42.0.5:53,10.42.0.6:53',
        'tcp|10.43.12.34|80 cluster-ip default/web:http -> 10.42.0.7:8080',
        'tcp|10.43.99.1|8080 cluster-ip default/empty:http ! -> ',
        'tcp|192.0.2.10|80 load-balancer default/web:http -> 10.42.0.7:8080',
        'tcp|198.51.100.7|80 external-ip default/web:http -> 10.42.0.7:8080',
        'udp|10.43.0.10|53 cluster-ip kube-system/kube-dns:dns -> 10.42.0.5:53,10.42.0.6:53',
      ],
    },
    {
      name: 'ip6 kube-proxy',
      file: 'nat/nft-kube-proxy-ip6.json',
      expected: [
        'udp|fd00:43::a|53 cluster-ip kube-system/kube-dns:dns -> [fd00:42::5]:53',
        'udp|fd00:43::e|5353 cluster-ip default/mdns:mdns ! -> ',
      ],
    },
  ])('$name', ({ file, expected }) => {
    const s = parseNftKubeProxy(fixture(file), { takenAt: 1_700_000_000_000 });
    expect(s.source).toBe('nft');
    expect(s.takenAt).toBe(1_700_000_000_000);
    expect(s.warnings).toEqual([]);
    expect(summarize(s)).toEqual(expected);
  });

  it('has no takenAt unless given (nft prints no time)', () => {
    expect(parseNftKubeProxy(fixture('nat/nft-kube-proxy.json')).takenAt).toBeUndefined();
  });

  it('reads a whole `nft -j list ruleset` and ignores other tables', () => {
    const own = items(fixture('nat/nft-kube-proxy.json'));
    const v6 = items(fixture('nat/nft-kube-proxy-ip6.json')).filter((i) => !('metainfo' in i));
    const foreign = {
      map: {
        family: 'ip',
        table: 'other',
        name: 'service-ips',
        elem: [[{ concat: ['10.9.9.9', 'tcp', 1] }, { goto: { target: 'x' } }]],
      },
    };
    const s = parseNftKubeProxy(wrap([...own, ...v6, foreign]));
    expect(s.warnings).toEqual([]);
    expect(s.frontends.map((f) => f.key)).toContain('udp|fd00:43::a|53');
    expect(s.frontends.map((f) => f.key)).toContain('udp|10.43.0.10|53');
    expect(s.frontends.map((f) => f.key)).not.toContain('tcp|10.9.9.9|1');
  });
});

describe('parseNftKubeProxy element and statement variants', () => {
  const base = items(fixture('nat/nft-kube-proxy.json'));
  const withMap = (name: string, elem: unknown[]): NftItem[] =>
    base.map((i) => (i.map?.name === name ? { map: { ...i.map, elem } } : i));

  it.each([
    {
      name: 'protocol given as a number, port as a string',
      list: withMap('service-ips', [
        [
          { concat: ['10.43.0.10', 17, '53'] },
          { goto: { target: 'service-ZZDQ2ZNF-kube-system/kube-dns/udp/dns' } },
        ],
      ]),
      expected: 'udp|10.43.0.10|53 cluster-ip kube-system/kube-dns:dns -> 10.42.0.5:53,10.42.0.6:53',
    },
    {
      name: 'jump verdict instead of goto',
      list: withMap('service-ips', [
        [
          { concat: ['10.43.0.10', 'udp', 53] },
          { jump: { target: 'service-ZZDQ2ZNF-kube-system/kube-dns/udp/dns' } },
        ],
      ]),
      expected: 'udp|10.43.0.10|53 cluster-ip kube-system/kube-dns:dns -> 10.42.0.5:53,10.42.0.6:53',
    },
    {
      name: 'a drop verdict straight in service-ips',
      list: withMap('service-ips', [[{ concat: ['10.43.0.10', 'udp', 53] }, { drop: null }]]),
      expected: 'udp|10.43.0.10|53 cluster-ip - ! -> ',
    },
  ])('$name', ({ list, expected }) => {
    const s = parseNftKubeProxy(wrap(list));
    expect(s.warnings).toEqual([]);
    expect(summarize(s)).toContain(expected);
  });

  it('keeps endpoints when a frontend is also in no-endpoint-services (Local policy, pods still DNATed)', () => {
    const list = withMap('no-endpoint-services', [
      [
        { elem: { val: { concat: ['198.51.100.7', 'tcp', 80] }, comment: 'default/web:http' } },
        { drop: null },
      ],
    ]);
    const s = parseNftKubeProxy(wrap(list));
    expect(summarize(s)).toContain('tcp|198.51.100.7|80 external-ip default/web:http -> 10.42.0.7:8080');
  });

  it('follows a dnat with a family field (inet tables)', () => {
    const list = base.map((i) => {
      const r = i.rule;
      if (r?.chain !== 'endpoint-N3QZ7K2A-default/web/tcp/http__10.42.0.7/8080') return i;
      const expr = (r.expr as Record<string, unknown>[]).map((e) =>
        'dnat' in e ? { dnat: { addr: '10.42.0.8', port: 8081, family: 'ip' } } : e,
      );
      return { rule: { ...r, expr } };
    });
    expect(summarize(parseNftKubeProxy(wrap(list)))).toContain(
      'tcp|10.43.12.34|80 cluster-ip default/web:http -> 10.42.0.8:8081',
    );
  });
});

describe('serviceFromNftChain', () => {
  it.each([
    ['service-ZZDQ2ZNF-kube-system/kube-dns/udp/dns', 'kube-system/kube-dns:dns'],
    ['external-WEB4HTTP-default/web/tcp/http', 'default/web:http'],
    ['endpoint-HX6Q2VQ4-kube-system/kube-dns/udp/dns__fd00.42..5/53', 'kube-system/kube-dns:dns'],
    ['service-ABCDEFGH-ns/unnamed/tcp/', 'ns/unnamed'],
    ['service-ABCDEFGH-ns/very-long-name/tcp/po...', undefined],
    ['reject-chain', undefined],
    ['service-lowercase-ns/svc/tcp/p', undefined],
  ])('%s -> %s', (chain, expected) => {
    expect(serviceFromNftChain(chain)).toBe(expected);
  });
});

describe('parseNftKubeProxy on bad input', () => {
  const real = fixture('nat/nft-kube-proxy.json');
  const base = items(real);
  it.each([
    { name: 'empty string', text: '', warning: /not valid JSON/ },
    { name: 'plain text', text: '*nat\n-A KUBE-SERVICES', warning: /not valid JSON/ },
    { name: 'truncated JSON', text: real.slice(0, real.length / 2), warning: /not valid JSON/ },
    { name: 'JSON without nftables', text: '{"tables": []}', warning: /no top-level "nftables" array/ },
    { name: 'JSON array', text: '[1, 2, 3]', warning: /no top-level "nftables" array/ },
    { name: 'nftables not an array', text: '{"nftables": {}}', warning: /no top-level "nftables" array/ },
    { name: 'only metainfo', text: '{"nftables": [{"metainfo": {}}]}', warning: /no kube-proxy table/ },
    {
      name: 'a foreign table only',
      text: wrap([
        { table: { family: 'ip', name: 'filter' } },
        { chain: { family: 'ip', table: 'filter', name: 'x' } },
      ]),
      warning: /no service-ips map/,
    },
    {
      name: 'malformed map elements',
      text: wrap([
        {
          map: {
            family: 'ip',
            table: 'kube-proxy',
            name: 'service-ips',
            elem: [['oops'], [{ concat: ['1.2.3.4'] }, {}]],
          },
        },
      ]),
      warning: /unexpected element shape|is not addr \. proto \. port/,
    },
    {
      name: 'endpoint chain missing from the dump',
      text: wrap(base.filter((i) => !String(i.chain?.name ?? i.rule?.chain).startsWith('endpoint-N3QZ'))),
      warning:
        /chain endpoint-N3QZ7K2A-default\/web\/tcp\/http__10.42.0.7\/8080 is referenced but not listed/,
    },
    {
      name: 'rule without expr',
      text: wrap([{ rule: { family: 'ip', table: 'kube-proxy', chain: 'services', handle: 1 } }]),
      warning: /has no expr array/,
    },
  ])('$name: warns, never throws', ({ text, warning }) => {
    const s = parseNftKubeProxy(text);
    expect(s.source).toBe('nft');
    expect(s.warnings.some((w) => warning.test(w))).toBe(true);
  });

  it('returns an empty snapshot for unparseable JSON', () => {
    const s = parseNftKubeProxy('{"nftables": [', { takenAt: 5 });
    expect(s.frontends).toEqual([]);
    expect(s.takenAt).toBe(5);
    expect(s.hash).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('parseNftKubeProxy: traffic kube-proxy drops on purpose (real nft -j output)', () => {
  const dropsOf = (s: NatSnapshot) =>
    s.frontends.flatMap((f) =>
      (f.drops ?? []).map(
        (d) => `${f.key} ${d.kind}: ${d.rule} [${(d.allowedSources ?? d.exemptSources ?? []).join(' ')}]`,
      ),
    );

  it.each([
    {
      name: 'no local endpoint: no-endpoint-services/-nodeports `drop` elements, firewall-ips',
      file: 'nat/nft-blocked.json',
      drops: [
        'udp|*|30777 no-local-endpoints: ip kube-proxy no-endpoint-nodeports element "default/game:udp" : drop [10.42.0.0/16]',
        'udp|10.43.50.50|53 no-local-endpoints: ip kube-proxy no-endpoint-services element "kube-system/node-local-dns:dns" : drop []',
        'udp|192.0.2.30|7777 no-local-endpoints: ip kube-proxy no-endpoint-services element "default/game:udp" : drop [10.42.0.0/16]',
        'udp|192.0.2.40|514 source-ranges: ip kube-proxy firewall-ips -> firewall-4FT32DWL-default/syslog/udp/syslog: ip saddr != { 198.51.100.0/24, 203.0.113.0/25 } drop [198.51.100.0/24 203.0.113.0/25]',
      ],
    },
    {
      name: 'a local endpoint for the game service: its drops are gone',
      file: 'nat/nft-local-endpoint.json',
      drops: [
        'udp|10.43.50.50|53 no-local-endpoints: ip kube-proxy no-endpoint-services element "kube-system/node-local-dns:dns" : drop []',
        'udp|192.0.2.40|514 source-ranges: ip kube-proxy firewall-ips -> firewall-4FT32DWL-default/syslog/udp/syslog: ip saddr != { 198.51.100.0/24, 203.0.113.0/25 } drop [198.51.100.0/24 203.0.113.0/25]',
      ],
    },
  ])('$name', ({ file, drops }) => {
    const s = parseNftKubeProxy(fixture(file));
    expect(s.warnings).toEqual([]);
    expect(dropsOf(s)).toEqual(drops);
  });

  it('`goto reject-chain` is no endpoints, `drop` is no local endpoints', () => {
    const s = parseNftKubeProxy(fixture('nat/nft-blocked.json'));
    const game = s.frontends.find((f) => f.ip === '192.0.2.30')!;
    expect(game.noEndpointsRule).toBeUndefined();
    expect(game.endpoints).toEqual([{ ip: '10.42.1.30', port: 7777 }]);
    const empty = parseNftKubeProxy(fixture('nat/nft-kube-proxy.json')).frontends.find(
      (f) => f.ip === '10.43.99.1',
    )!;
    expect(empty).toMatchObject({ noEndpointsRule: true });
    expect(empty.drops).toBeUndefined();
  });
});
