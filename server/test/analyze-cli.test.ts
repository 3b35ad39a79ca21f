import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'server', 'dist', 'cli.js');
const SEED = join(ROOT, 'shared', 'test', 'fixtures', 'seed-incident');
const seed = (f: string) => join(SEED, f);

function ctscope(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const seedArgs = [
  'analyze',
  '--nat',
  seed('nat-before.txt'),
  '--nat',
  seed('nat-during.txt'),
  '--nat',
  seed('nat-after.txt'),
  '--list',
  seed('list-poll.txt'),
  '--events',
  seed('events-ts-ext-id.txt'),
];

describe('ctscope analyze (built CLI)', () => {
  it('prints the kept-alive no-dnat seed entry first with its remedy and exits 1', () => {
    const r = ctscope(...seedArgs);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^SEVERITY\s+VERDICT\s+KEPT-ALIVE/);
    expect(lines[1]).toMatch(/^CRITICAL\s+no-dnat\s+yes\s+udp 10\.42\.0\.33:52001 -> 10\.43\.0\.10:53/);
    expect(r.out).toContain(
      'fix: conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53',
    );
    expect(r.out).toMatch(/3 critical, 0 warning, \d+ ok/);
  });

  it('--json prints one object per flow with the documented fields', () => {
    const r = ctscope(...seedArgs, '--json');
    expect(r.code).toBe(1);
    const flows = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const f = flows.find((x) => x.orig.sport === 52001);
    expect(f).toMatchObject({
      id: '137932478',
      orig: { src: '10.42.0.33', dst: '10.43.0.10', sport: 52001, dport: 53, proto: 'udp' },
      reply: { src: '10.43.0.10', dst: '172.20.112.199', sport: 53, dport: 20978 },
      verdict: 'no-dnat',
      severity: 'critical',
      keptAlive: true,
      createdDuringRuleGap: true,
    });
    expect(typeof f.reason).toBe('string');
    expect(f.remedy).toMatch(/^conntrack -D /);
    for (const x of flows.filter((y) => y.orig.sport === 59807 || y.orig.sport === 39068)) {
      expect(x).toMatchObject({ verdict: 'no-dnat', keptAlive: false });
    }
  });

  it('exits 0 when nothing is critical', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctscope-analyze-'));
    const list = join(dir, 'ok.txt');
    writeFileSync(
      list,
      'ipv4     2 udp      17 27 src=10.42.0.33 dst=10.43.0.10 sport=33533 dport=53 src=172.20.112.199 dst=10.42.0.33 sport=53 dport=33533 mark=0 use=1 id=2828965514\n',
    );
    const r = ctscope('analyze', '--nat', seed('nat-after.txt'), '--list', list);
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 flows: 0 critical, 0 warning, 1 ok');
  });

  it.each([
    {
      name: 'missing file',
      args: ['analyze', '--nat', '/nonexistent/nat.txt', '--list', seed('list-poll.txt')],
      err: /cannot read --nat \/nonexistent\/nat\.txt: no such file/,
    },
    {
      name: 'no --nat',
      args: ['analyze', '--list', seed('list-poll.txt')],
      err: /at least one --nat FILE is required/,
    },
    {
      name: 'no flows input',
      args: ['analyze', '--nat', seed('nat-after.txt')],
      err: /give --list FILE and\/or --events FILE/,
    },
    {
      name: 'NAT file of unknown format',
      args: ['analyze', '--nat', seed('client.log'), '--list', seed('list-poll.txt')],
      err: /client\.log: /,
    },
    { name: 'unknown option', args: ['analyze', '--bogus'], err: /unknown option '--bogus'/ },
    {
      name: 'bad number',
      args: [
        'analyze',
        '--nat',
        seed('nat-after.txt'),
        '--list',
        seed('list-poll.txt'),
        '--list-interval',
        'x',
      ],
      err: /--list-interval must be/,
    },
  ])('usage error: $name exits 2 with a clear message', ({ args, err }) => {
    const r = ctscope(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(err);
  });

  it('names file and line of an unparseable line, exits 2, and carries on with --skip-bad-lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctscope-analyze-'));
    const list = join(dir, 'bad.txt');
    writeFileSync(
      list,
      'ipv4     2 udp      17 29 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=20978 id=1\nipv4     2 udp      17 29 src=10.42.0.33 dst=10.43.0.10 sport=5\n',
    );
    const r = ctscope('analyze', '--nat', seed('nat-after.txt'), '--list', list);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${list}:2: `);
    const lenient = ctscope('analyze', '--nat', seed('nat-after.txt'), '--list', list, '--skip-bad-lines');
    expect(lenient.code).toBe(1);
    expect(lenient.err).toContain(`${list}:2: `);
    expect(lenient.out).toContain('no-dnat');
  });

  it('--help lists the subcommands and exits 0', () => {
    const r = ctscope('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('analyze');
    const sub = ctscope('analyze', '--help');
    expect(sub.code).toBe(0);
    expect(sub.out).toContain(
      'Exit status: 0 no critical flow, 1 at least one critical flow, 2 usage or input error.',
    );
  });
});

describe('ctscope analyze: traffic kube-proxy drops on purpose', () => {
  const NAT = join(ROOT, 'shared', 'test', 'fixtures', 'nat');
  // Never-DNATed entries to the externalTrafficPolicy Local LB IP 192.0.2.30:7777 (no local endpoint):
  // one from outside (dropped on purpose) and one from a pod (short-circuited, so really broken).
  const list = [
    'ipv4     2 udp      17 29 src=192.0.2.99 dst=192.0.2.30 sport=40000 dport=7777 [UNREPLIED] src=192.0.2.30 dst=192.0.2.99 sport=7777 dport=40000 mark=0 use=1 id=1001',
    'ipv4     2 udp      17 29 src=10.42.0.33 dst=192.0.2.30 sport=40001 dport=7777 [UNREPLIED] src=192.0.2.30 dst=10.42.0.33 sport=7777 dport=40001 mark=0 use=1 id=1002',
  ].join('\n');

  it.each([
    { layout: 'iptables-save', nat: 'iptables-blocked.txt' },
    { layout: 'nft -j', nat: 'nft-blocked.json' },
  ])('$layout: blocked with the rule and no fix line; the pod flow stays critical', ({ nat }) => {
    const dir = mkdtempSync(join(tmpdir(), 'ctscope-analyze-'));
    const file = join(dir, 'list.txt');
    writeFileSync(file, `${list}\n`);
    const r = ctscope('analyze', '--nat', join(NAT, nat), '--list', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^OK\s+blocked\s+no\s+udp 192\.0\.2\.99:40000 -> 192\.0\.2\.30:7777/m);
    expect(r.out).toMatch(/^CRITICAL\s+no-dnat\s+no\s+udp 10\.42\.0\.33:40001 -> 192\.0\.2\.30:7777/m);
    const explained = r.out.split('\n').find((l) => l.startsWith('OK blocked id=1001'))!;
    expect(explained).toContain('externalTrafficPolicy Local and no local endpoint on this node');
    expect(r.out).not.toContain('fix: conntrack -D -p udp --orig-src 192.0.2.99');
    expect(r.out).toContain('fix: conntrack -D -p udp --orig-src 10.42.0.33');
    expect(r.out).toContain('2 flows: 1 critical, 0 warning, 1 ok (1 blocked on purpose)');
    const json = ctscope('analyze', '--nat', join(NAT, nat), '--list', file, '--json');
    const blocked = json.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((f) => f.id === '1001');
    expect(blocked).toMatchObject({ verdict: 'blocked', severity: 'ok', remedy: null });
  });
});
