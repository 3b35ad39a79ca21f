import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeSnapshot,
  type NatSnapshot,
  parseIptablesSave,
  parseIpvsadm,
  parseNftKubeProxy,
  type SourceState,
} from '@ctscope/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNatPoller, type NatPoller } from '../src/sources/nat-poller.js';
import type { SourceSink } from '../src/sources/source-types.js';

const FAKES = join(import.meta.dirname, 'fake-bin-nat');
const FIXTURES = join(import.meta.dirname, '..', '..', 'shared', 'test', 'fixtures');
const SEED = join(FIXTURES, 'seed-incident');
const NAT = join(FIXTURES, 'nat');
const ALL_TOOLS = ['iptables-save', 'ip6tables-save', 'nft', 'ipvsadm', 'conntrack', 'ip'];

let tmp: string;
let savedEnv: NodeJS.ProcessEnv;
let pollers: NatPoller[];

beforeEach(() => {
  savedEnv = { ...process.env };
  tmp = mkdtempSync(join(tmpdir(), 'ctscope-nat-'));
  mkdirSync(join(tmp, 'state'));
  process.env.FAKE_STATE_DIR = join(tmp, 'state');
  pollers = [];
});

afterEach(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  process.env = savedEnv;
  rmSync(tmp, { recursive: true, force: true });
});

/** PATH holding only the named fakes, so a tool left out is "not installed". */
function usePath(tools: readonly string[]): void {
  const dir = join(tmp, `bin-${tools.join('-')}`);
  mkdirSync(dir);
  for (const t of [...tools, 'fake-lib.sh']) symlinkSync(join(FAKES, t), join(dir, t));
  process.env.PATH = dir;
}

function calls(): string[] {
  try {
    return readFileSync(join(tmp, 'state', 'calls.log'), 'utf8')
      .trim()
      .split('\n');
  } catch {
    return [];
  }
}

function fixture(path: string): string {
  return readFileSync(path, 'utf8');
}

/** One table of an iptables-save dump (with its header), as `iptables-save -t TABLE` would print it. */
function table(dump: string, name: string): string {
  const lines = dump.split('\n');
  const start = lines.indexOf(`*${name}`);
  const end = lines.indexOf('COMMIT', start);
  if (start < 0 || end < 0) throw new Error(`no *${name} table`);
  return `${lines.slice(start - 1, end + 2).join('\n')}\n`;
}

function write(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

function recorder() {
  const nat: Array<{ snapshot: NatSnapshot; at: number }> = [];
  const states: SourceState[] = [];
  const sink: SourceSink = {
    onEventLine() {},
    onEventLoss() {},
    onDump() {},
    onCounters() {},
    onNat: (snapshot, at) => nat.push({ snapshot, at }),
    onSourceState: (s) => states.push(s),
  };
  return { sink, nat, states };
}

function start(opts: Omit<Parameters<typeof createNatPoller>[0], 'intervalMs'> & { intervalMs?: number }) {
  const p = createNatPoller({ intervalMs: 10, ...opts });
  pollers.push(p);
  p.start();
  return p;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('createNatPoller, iptables mode', () => {
  it('turns the seed before → during → after dumps into snapshots hashed A, B, A', async () => {
    usePath(['iptables-save']); // no ip6tables-save: must not be an error
    const seq = join(tmp, 'seq');
    mkdirSync(seq);
    copyFileSync(join(SEED, 'nat-before.txt'), join(seq, '1-before'));
    copyFileSync(join(SEED, 'nat-during.txt'), join(seq, '2-during'));
    copyFileSync(join(SEED, 'nat-after.txt'), join(seq, '3-after'));
    process.env.FAKE_IPTABLES_NAT = seq;
    const r = recorder();
    let clock = 1000;
    const p = start({ sink: r.sink, node: {}, mode: 'iptables', now: () => clock++ });
    await waitFor(() => r.nat.length >= 3, 'three snapshots');
    await p.stop();

    const a = parseIptablesSave(fixture(join(SEED, 'nat-before.txt'))).hash;
    const b = parseIptablesSave(fixture(join(SEED, 'nat-during.txt'))).hash;
    expect(a).not.toBe(b);
    expect(r.nat.slice(0, 3).map((n) => n.snapshot.hash)).toEqual([a, b, a]);
    expect(r.nat[0]!.snapshot.source).toBe('iptables');
    expect(r.nat[0]!.snapshot.frontends.map((f) => f.key)).toEqual(['udp|10.43.0.10|53']);
    expect(r.nat[1]!.snapshot.frontends).toEqual([]);
    // takenAt is the poller's clock, and onNat gets the same time.
    for (const { snapshot, at } of r.nat) expect(snapshot.takenAt).toBe(at);
    expect(r.nat[1]!.at).toBeGreaterThan(r.nat[0]!.at);
    expect(p.mode()).toBe('iptables');
    expect(r.states.map((s) => s.state)).not.toContain('failed');
    const log = calls();
    expect(log).toContain('iptables-save -t nat');
    expect(log).toContain('iptables-save -t filter');
  });

  it('reads the filter table (has-no-endpoints REJECTs) and merges ip6tables-save frontends', async () => {
    usePath(['iptables-save', 'ip6tables-save']);
    const v4 = fixture(join(NAT, 'iptables-kube-proxy-1.28.txt'));
    const v6 = fixture(join(NAT, 'ip6tables-kube-proxy.txt'));
    process.env.FAKE_IPTABLES_NAT = write('v4-nat', table(v4, 'nat'));
    process.env.FAKE_IPTABLES_FILTER = write('v4-filter', table(v4, 'filter'));
    process.env.FAKE_IP6TABLES_NAT = write('v6-nat', table(v6, 'nat'));
    process.env.FAKE_IP6TABLES_FILTER = write('v6-filter', table(v6, 'filter'));
    const r = recorder();
    start({ sink: r.sink, node: {}, mode: 'iptables' });
    await waitFor(() => r.nat.length >= 1, 'a snapshot');

    const snap = r.nat[0]!.snapshot;
    const expected = makeSnapshot(
      'iptables',
      [...parseIptablesSave(v4).frontends, ...parseIptablesSave(v6).frontends],
      [],
    );
    expect(snap.hash).toBe(expected.hash);
    expect(snap.frontends).toEqual(expected.frontends);
    expect(snap.warnings).toEqual([]);
    const noEndpoints = snap.frontends.filter((f) => f.noEndpointsRule).map((f) => f.key);
    expect(noEndpoints).toEqual(['tcp|*|30099', 'tcp|10.43.99.1|8080', 'udp|fd00:43::e|5353']);
    expect(calls()).toEqual(expect.arrayContaining(['ip6tables-save -t nat', 'ip6tables-save -t filter']));
  });

  it('reuses the parsed snapshot when only the dump header changed, with a fresh takenAt', async () => {
    usePath(['iptables-save']);
    const seq = join(tmp, 'seq');
    mkdirSync(seq);
    // before and after differ only in their `# Generated … on <time>` header lines.
    copyFileSync(join(SEED, 'nat-before.txt'), join(seq, '1'));
    copyFileSync(join(SEED, 'nat-after.txt'), join(seq, '2'));
    process.env.FAKE_IPTABLES_NAT = seq;
    const r = recorder();
    let clock = 5000;
    start({ sink: r.sink, node: {}, mode: 'iptables', now: () => (clock += 1000) });
    await waitFor(() => r.nat.length >= 2, 'two snapshots');
    const [first, second] = r.nat;
    expect(second!.snapshot.hash).toBe(first!.snapshot.hash);
    expect(second!.snapshot.frontends).toBe(first!.snapshot.frontends); // not re-parsed
    expect(second!.snapshot.takenAt).toBe(second!.at);
    expect(second!.snapshot.takenAt).not.toBe(first!.snapshot.takenAt);
  });

  it('keeps reading every interval when nft monitor cannot run on nf_tables rules, and says why', async () => {
    usePath(['iptables-save']); // no nft: the watch cannot start
    process.env.FAKE_IPTABLES_NAT = join(SEED, 'nat-before.txt'); // `(nf_tables)` header: watchable
    const r = recorder();
    start({ sink: r.sink, node: {}, mode: 'iptables', backstopMs: 600_000 });
    await waitFor(() => r.nat.length >= 5, 'five snapshots');
    expect(r.states.at(-1)?.detail).toMatch(/^read every 10 ms \(.*nft.*\)$/);
  });

  it('does not try to watch legacy rules: reads them every interval', async () => {
    usePath(['iptables-save', 'nft']);
    const legacy = fixture(join(SEED, 'nat-before.txt')).replace('(nf_tables)', '(legacy)');
    process.env.FAKE_IPTABLES_NAT = write('legacy.txt', legacy);
    const r = recorder();
    start({ sink: r.sink, node: {}, mode: 'iptables' });
    await waitFor(() => r.nat.length >= 3, 'three snapshots');
    expect(r.states.at(-1)?.detail).toBe('read every 10 ms');
    expect(calls().filter((c) => c.startsWith('nft'))).toEqual([]);
  });

  it('fails with the command and its stderr, then recovers when iptables-save works again', async () => {
    usePath(['iptables-save']);
    process.env.FAKE_IPTABLES_NAT = join(SEED, 'nat-before.txt');
    process.env.FAKE_IPTABLES_FAIL =
      'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\nsecond line';
    const r = recorder();
    const p = start({ sink: r.sink, node: {}, mode: 'iptables' });
    await waitFor(() => p.state.state === 'failed', 'state failed');
    expect(p.state.name).toBe('nat');
    expect(p.state.lastError).toMatch(
      /^iptables-save -t (nat|filter): iptables-save v1\.8\.9 \(nf_tables\): Could not fetch rule set generation id: Permission denied \(you must be root\)$/,
    );
    expect(r.nat).toEqual([]);
    expect(r.states.at(-1)?.state).toBe('failed');

    delete process.env.FAKE_IPTABLES_FAIL;
    await waitFor(() => r.nat.length >= 1, 'a snapshot after recovery');
    expect(p.state.state).toBe('running');
    expect(p.state.restarts).toBeGreaterThanOrEqual(1);
    expect(r.nat[0]!.snapshot.hash).toBe(parseIptablesSave(fixture(join(SEED, 'nat-before.txt'))).hash);
  });

  it('runs the commands inside the netns through ip netns exec', async () => {
    usePath(['iptables-save', 'ip']);
    process.env.FAKE_NETNS_LIST = write('netns', 'lab (id: 0)\n');
    process.env.FAKE_IPTABLES_NAT = join(SEED, 'nat-before.txt');
    const r = recorder();
    start({ sink: r.sink, node: { netns: 'lab' }, mode: 'iptables' });
    await waitFor(() => r.nat.length >= 1, 'a snapshot');
    expect(r.nat[0]!.snapshot.frontends).toHaveLength(1);
    const log = calls();
    expect(log).toContain('ip netns exec lab iptables-save -t nat');
    expect(log).toContain('ip netns exec lab iptables-save -t filter');
    // ip6tables-save is not installed: `ip netns exec` cannot exec it, which is not an error either.
    expect(log).toContain('ip netns exec lab ip6tables-save -t nat');
    expect(r.states.map((s) => s.state)).not.toContain('failed');
  });
});

describe('createNatPoller, nft and ipvs modes', () => {
  it('nft: parses the ip and ip6 kube-proxy tables into one snapshot', async () => {
    usePath(['nft']);
    process.env.FAKE_NFT_JSON = join(NAT, 'nft-kube-proxy.json');
    process.env.FAKE_NFT6_JSON = join(NAT, 'nft-kube-proxy-ip6.json');
    const r = recorder();
    start({ sink: r.sink, node: {}, mode: 'nft' });
    await waitFor(() => r.nat.length >= 1, 'a snapshot');
    const v4 = parseNftKubeProxy(fixture(join(NAT, 'nft-kube-proxy.json')));
    const v6 = parseNftKubeProxy(fixture(join(NAT, 'nft-kube-proxy-ip6.json')));
    const snap = r.nat[0]!.snapshot;
    expect(snap.source).toBe('nft');
    expect(snap.hash).toBe(makeSnapshot('nft', [...v4.frontends, ...v6.frontends], []).hash);
    expect(snap.frontends.length).toBe(v4.frontends.length + v6.frontends.length);
    expect(calls()).toEqual(
      expect.arrayContaining(['nft -j list table ip kube-proxy', 'nft -j list table ip6 kube-proxy']),
    );
  });

  it('nft: a missing ip6 table is not an error', async () => {
    usePath(['nft']);
    process.env.FAKE_NFT_JSON = join(NAT, 'nft-kube-proxy.json');
    const r = recorder();
    start({ sink: r.sink, node: {}, mode: 'nft' });
    await waitFor(() => r.nat.length >= 1, 'a snapshot');
    expect(r.nat[0]!.snapshot.hash).toBe(parseNftKubeProxy(fixture(join(NAT, 'nft-kube-proxy.json'))).hash);
  });

  it('nft: an IPv6-only node (only the ip6 kube-proxy table) gives the IPv6 frontends', async () => {
    usePath(['nft']);
    process.env.FAKE_NFT6_JSON = join(NAT, 'nft-kube-proxy-ip6.json');
    const r = recorder();
    start({ sink: r.sink, node: {}, mode: 'nft' });
    await waitFor(() => r.nat.length >= 1, 'a snapshot');
    const v6 = parseNftKubeProxy(fixture(join(NAT, 'nft-kube-proxy-ip6.json')));
    expect(r.nat[0]!.snapshot.hash).toBe(v6.hash);
    expect(r.nat[0]!.snapshot.frontends.some((f) => f.ip === 'fd00:43::a')).toBe(true);
  });

  it('nft: neither table is a failure that names both', async () => {
    usePath(['nft']);
    const r = recorder();
    start({ sink: r.sink, node: {}, mode: 'nft' });
    await waitFor(() => r.states.some((st) => st.state === 'failed'), 'a failure');
    const failed = r.states.find((st) => st.state === 'failed')!;
    expect(failed.lastError).toMatch(/neither table ip kube-proxy nor table ip6 kube-proxy/);
    expect(r.nat).toEqual([]);
  });

  it('ipvs: parses ipvsadm -Ln', async () => {
    usePath(['ipvsadm']);
    process.env.FAKE_IPVSADM = join(NAT, 'ipvsadm.txt');
    const r = recorder();
    start({ sink: r.sink, node: {}, mode: 'ipvs' });
    await waitFor(() => r.nat.length >= 1, 'a snapshot');
    const expected = parseIpvsadm(fixture(join(NAT, 'ipvsadm.txt')));
    expect(r.nat[0]!.snapshot.source).toBe('ipvs');
    expect(r.nat[0]!.snapshot.hash).toBe(expected.hash);
    expect(r.nat[0]!.snapshot.warnings).toEqual(expected.warnings);
    expect(calls()).toEqual(['ipvsadm -Ln']);
  });
});

describe('createNatPoller, auto mode', () => {
  const IPVS_EMPTY =
    'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  const cases: Array<{ name: string; env: () => Record<string, string>; tools: string[]; mode: string }> = [
    {
      name: 'nft when the ip kube-proxy table exists (even with IPVS services)',
      env: () => ({
        FAKE_NFT_JSON: join(NAT, 'nft-kube-proxy.json'),
        FAKE_IPVSADM: join(NAT, 'ipvsadm.txt'),
      }),
      tools: ALL_TOOLS,
      mode: 'nft',
    },
    {
      name: 'nft when only the ip6 kube-proxy table exists (IPv6-only node)',
      env: () => ({
        FAKE_NFT6_JSON: join(NAT, 'nft-kube-proxy-ip6.json'),
        FAKE_IPTABLES_NAT: join(SEED, 'nat-before.txt'),
      }),
      tools: ALL_TOOLS,
      mode: 'nft',
    },
    {
      name: 'ipvs when there is no nft table and ipvsadm lists a service',
      env: () => ({
        FAKE_IPVSADM: join(NAT, 'ipvsadm.txt'),
        FAKE_IPTABLES_NAT: join(SEED, 'nat-before.txt'),
      }),
      tools: ALL_TOOLS,
      mode: 'ipvs',
    },
    {
      name: 'iptables when ipvsadm lists no service',
      env: () => ({
        FAKE_IPVSADM: write('ipvs-empty', IPVS_EMPTY),
        FAKE_IPTABLES_NAT: join(SEED, 'nat-before.txt'),
      }),
      tools: ALL_TOOLS,
      mode: 'iptables',
    },
    {
      name: 'iptables when neither nft nor ipvsadm is installed',
      env: () => ({
        FAKE_NFT_JSON: join(NAT, 'nft-kube-proxy.json'),
        FAKE_IPTABLES_NAT: join(SEED, 'nat-before.txt'),
      }),
      tools: ['iptables-save'],
      mode: 'iptables',
    },
  ];
  it.each(cases)('picks $name', async ({ env, tools, mode }) => {
    usePath(tools);
    Object.assign(process.env, env());
    const r = recorder();
    const p = createNatPoller({ sink: r.sink, node: {}, mode: 'auto', intervalMs: 10 });
    pollers.push(p);
    expect(p.mode()).toBeUndefined();
    p.start();
    await waitFor(() => r.nat.length >= 1, 'a snapshot');
    expect(p.mode()).toBe(mode);
    expect(r.nat[0]!.snapshot.source).toBe(mode);
    expect(r.nat[0]!.snapshot.frontends.length).toBeGreaterThan(0);
  });

  it('re-decides after a failure: iptables-save breaks, kube-proxy now uses nft', async () => {
    usePath(ALL_TOOLS);
    process.env.FAKE_IPTABLES_NAT = join(SEED, 'nat-before.txt');
    const r = recorder();
    const p = start({ sink: r.sink, node: {}, mode: 'auto' });
    await waitFor(() => r.nat.length >= 1, 'an iptables snapshot');
    expect(p.mode()).toBe('iptables');

    process.env.FAKE_IPTABLES_FAIL = 'iptables-save: broken';
    process.env.FAKE_NFT_JSON = join(NAT, 'nft-kube-proxy.json');
    await waitFor(() => r.nat.at(-1)?.snapshot.source === 'nft', 'an nft snapshot');
    expect(p.mode()).toBe('nft');
    expect(
      r.states.some(
        (s) => s.state === 'failed' && /iptables-save -t \w+: iptables-save: broken/.test(s.lastError ?? ''),
      ),
    ).toBe(true);
  });
});
