import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatPreflight,
  type PreflightCheck,
  preflightVerdict,
  runPreflight,
} from '../src/sources/preflight.js';

const FAKES = join(import.meta.dirname, 'fake-bin-nat');
const ALL_TOOLS = ['conntrack', 'iptables-save', 'nft', 'ipvsadm', 'ip'];
const FULL_CAPS = '000001ffffffffff';
const NET_ADMIN_ONLY = '0000000000001000';

let tmp: string;
let savedEnv: NodeJS.ProcessEnv;

beforeEach(() => {
  savedEnv = { ...process.env };
  tmp = mkdtempSync(join(tmpdir(), 'ctscope-preflight-'));
  mkdirSync(join(tmp, 'state'));
  process.env.FAKE_STATE_DIR = join(tmp, 'state');
});

afterEach(() => {
  process.env = savedEnv;
  rmSync(tmp, { recursive: true, force: true });
});

function write(rel: string, text: string): string {
  const file = join(tmp, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
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

function statusFile(capEff: string | undefined, capAmb?: string): string {
  const lines = ['Name:\tnode', 'Uid:\t0\t0\t0\t0', 'CapInh:\t0000000000000000', 'CapPrm:\t000001ffffffffff'];
  if (capEff !== undefined) lines.push(`CapEff:\t${capEff}`);
  lines.push('CapBnd:\t000001ffffffffff');
  if (capAmb !== undefined) lines.push(`CapAmb:\t${capAmb}`);
  return `${lines.join('\n')}\n`;
}

interface Scenario {
  name: string;
  /** Whether SCHED_FIFO is allowed (default yes). */
  fifo?: boolean;
  uid?: number;
  /** CapEff hex; null: no status file at all. */
  capEff?: string | null;
  capAmb?: string;
  /** nf_conntrack_events content; null: missing file (module not loaded). */
  events?: string | null;
  tools?: string[];
  natMode?: 'auto' | 'iptables' | 'nft' | 'ipvs';
  netns?: string;
  /** `ip netns list` output. */
  netnsList?: string;
  /** nf_conntrack_events inside the netns (via the fake ip's FAKE_NETNS_PROC); null: missing. */
  netnsEvents?: string | null;
  verdict: 'ok' | 'degraded' | 'fatal';
  /** Failed checks: id → fatal flag, message pattern, hint pattern. */
  failed: Record<string, { fatal: boolean; message: RegExp; hint: RegExp }>;
  /** Ids expected among the checks (default: the usual six without netns). */
  ids?: string[];
  /** Exact lines expected in calls.log. */
  calls?: string[];
}

const BASE_IDS = [
  'privileges',
  'binary:conntrack',
  'binary:iptables-save',
  'binary:nft',
  'binary:ipvsadm',
  'binary:ip',
  'listener-priority',
  'nf_conntrack_events',
];
const PKG_HINT = (pkg: string) =>
  new RegExp(`Debian package ${pkg} \\(\`apt-get install ${pkg}\`\\).*/usr/sbin`);

const scenarios: Scenario[] = [
  { name: 'all good as root', verdict: 'ok', failed: {} },
  {
    name: 'no SCHED_FIFO (no CAP_SYS_NICE) degrades: the listener is not prioritised',
    fifo: false,
    verdict: 'degraded',
    failed: {
      'listener-priority': {
        fatal: false,
        message:
          /^listener not prioritised: expect event loss above a few thousand flows\/s \(SCHED_FIFO not allowed/,
        hint: /capabilities\.add: \[SYS_NICE\]/,
      },
    },
  },
  {
    name: 'nf_conntrack_events=2 (on demand) degrades: pre-existing entries report no DESTROY',
    events: '2\n',
    verdict: 'degraded',
    failed: {
      nf_conntrack_events: {
        fatal: false,
        message: /^nf_conntrack_events is 2 .*retired only by full dumps$/,
        hint: /sysctl -w net\.netfilter\.nf_conntrack_events=1/,
      },
    },
  },
  {
    name: 'uid 1000 with CAP_NET_ADMIN effective and ambient',
    uid: 1000,
    capEff: NET_ADMIN_ONLY,
    capAmb: NET_ADMIN_ONLY,
    verdict: 'ok',
    failed: {},
  },
  { name: 'root without a readable status file', capEff: null, verdict: 'ok', failed: {} },
  {
    name: 'not root and no CAP_NET_ADMIN',
    uid: 1000,
    capEff: '0000000000000000',
    verdict: 'fatal',
    failed: {
      privileges: {
        fatal: true,
        message:
          /^not running as root \(uid 1000\) and CAP_NET_ADMIN is not in the effective capability set \(CapEff=0000000000000000\)$/,
        hint: /run ctscope as root.*--cap-add NET_ADMIN.*capabilities\.add: \[NET_ADMIN\]/,
      },
    },
  },
  {
    name: 'root in a container without NET_ADMIN',
    uid: 0,
    capEff: 'a80425fb',
    verdict: 'fatal',
    failed: {
      privileges: {
        fatal: true,
        message:
          /^running as root but CAP_NET_ADMIN is not in the effective capability set \(CapEff=00000000a80425fb\)/,
        hint: /--cap-add NET_ADMIN/,
      },
    },
  },
  {
    name: 'CAP_NET_ADMIN without the ambient bit (children would lose it)',
    uid: 1000,
    capEff: NET_ADMIN_ONLY,
    capAmb: '0000000000000000',
    verdict: 'fatal',
    failed: {
      privileges: {
        fatal: true,
        message: /^uid 1000 has CAP_NET_ADMIN but not as an ambient capability/,
        hint: /AmbientCapabilities=CAP_NET_ADMIN/,
      },
    },
  },
  {
    name: 'nf_conntrack_events=0',
    events: '0\n',
    verdict: 'degraded',
    failed: {
      nf_conntrack_events: {
        fatal: false,
        message: /^nf_conntrack_events is "0", not 1: the kernel sends no conntrack events/,
        hint: /^sysctl -w net\.netfilter\.nf_conntrack_events=1$/,
      },
    },
  },
  {
    name: 'nf_conntrack_events missing: module not loaded',
    events: null,
    verdict: 'degraded',
    failed: {
      nf_conntrack_events: {
        fatal: false,
        message: /nf_conntrack_events does not exist: the nf_conntrack kernel module is not loaded/,
        hint: /^modprobe nf_conntrack$/,
      },
    },
  },
  {
    name: 'conntrack missing from PATH',
    tools: ['iptables-save', 'nft', 'ipvsadm', 'ip'],
    verdict: 'fatal',
    failed: {
      'binary:conntrack': {
        fatal: true,
        message:
          /^conntrack not found on PATH \(.*\): needed for conntrack events, table dumps and counters$/,
        hint: PKG_HINT('conntrack'),
      },
    },
  },
  {
    name: 'natMode iptables without iptables-save (nft and ipvsadm missing too, not needed)',
    tools: ['conntrack'],
    natMode: 'iptables',
    verdict: 'fatal',
    failed: {
      'binary:iptables-save': {
        fatal: true,
        message: /^iptables-save not found on PATH .*: needed for iptables-mode NAT rules$/,
        hint: PKG_HINT('iptables'),
      },
      'binary:nft': {
        fatal: false,
        message: /not needed for natMode iptables/,
        hint: PKG_HINT('nftables'),
      },
      'binary:ipvsadm': {
        fatal: false,
        message: /not needed for natMode iptables/,
        hint: PKG_HINT('ipvsadm'),
      },
      'binary:ip': { fatal: false, message: /not needed without a netns/, hint: PKG_HINT('iproute2') },
    },
  },
  {
    name: 'natMode nft without nft',
    tools: ['conntrack', 'iptables-save', 'ipvsadm', 'ip'],
    natMode: 'nft',
    verdict: 'fatal',
    failed: {
      'binary:nft': { fatal: true, message: /^nft not found on PATH/, hint: PKG_HINT('nftables') },
    },
  },
  {
    name: 'natMode ipvs without ipvsadm',
    tools: ['conntrack', 'iptables-save', 'nft', 'ip'],
    natMode: 'ipvs',
    verdict: 'fatal',
    failed: {
      'binary:ipvsadm': { fatal: true, message: /^ipvsadm not found on PATH/, hint: PKG_HINT('ipvsadm') },
    },
  },
  {
    name: 'natMode auto: missing NAT tools only degrade',
    tools: ['conntrack', 'iptables-save'],
    natMode: 'auto',
    verdict: 'degraded',
    failed: {
      'binary:nft': {
        fatal: false,
        message: /auto mode will not be able to use it/,
        hint: PKG_HINT('nftables'),
      },
      'binary:ipvsadm': {
        fatal: false,
        message: /auto mode will not be able to use it/,
        hint: PKG_HINT('ipvsadm'),
      },
      'binary:ip': { fatal: false, message: /^ip not found on PATH/, hint: PKG_HINT('iproute2') },
    },
  },
  {
    name: 'netns missing (others listed)',
    netns: 'lab',
    netnsList: 'other (id: 0)\nlab2\n',
    verdict: 'fatal',
    ids: ['privileges', 'netns', ...BASE_IDS.slice(1, -1)],
    failed: {
      netns: {
        fatal: true,
        message: /^network namespace "lab" does not exist \(existing: other, lab2\)$/,
        hint: /^use one of other, lab2, or create it with `ip netns add lab`$/,
      },
    },
    calls: ['ip netns list'],
  },
  {
    name: 'netns missing (none exist)',
    netns: 'lab',
    netnsList: '',
    verdict: 'fatal',
    ids: ['privileges', 'netns', ...BASE_IDS.slice(1, -1)],
    failed: {
      netns: {
        fatal: true,
        message: /^network namespace "lab" does not exist \(there are no named network namespaces\)$/,
        hint: /^create it with `ip netns add lab`/,
      },
    },
  },
  {
    name: 'netns present: events read inside it (and the host file is ignored)',
    netns: 'lab',
    netnsList: 'lab (id: 3)\n',
    events: '1\n',
    netnsEvents: '0\n',
    verdict: 'degraded',
    ids: ['privileges', 'netns', ...BASE_IDS.slice(1)],
    failed: {
      nf_conntrack_events: {
        fatal: false,
        message: /^nf_conntrack_events is "0" in network namespace "lab", not 1/,
        hint: /^ip netns exec lab sysctl -w net\.netfilter\.nf_conntrack_events=1$/,
      },
    },
    calls: ['ip netns list', 'ip netns exec lab cat /proc/sys/net/netfilter/nf_conntrack_events'],
  },
  {
    name: 'netns present, module not loaded there',
    netns: 'lab',
    netnsList: 'lab\n',
    netnsEvents: null,
    verdict: 'degraded',
    ids: ['privileges', 'netns', ...BASE_IDS.slice(1)],
    failed: {
      nf_conntrack_events: {
        fatal: false,
        message:
          /^\/proc\/sys\/net\/netfilter\/nf_conntrack_events does not exist in network namespace "lab": the nf_conntrack kernel module is not loaded/,
        hint: /^modprobe nf_conntrack \(on the host/,
      },
    },
  },
  {
    name: 'netns set but ip missing',
    netns: 'lab',
    tools: ['conntrack', 'iptables-save', 'nft', 'ipvsadm'],
    verdict: 'fatal',
    ids: ['privileges', 'netns', ...BASE_IDS.slice(1, -1)],
    failed: {
      netns: {
        fatal: true,
        message: /^cannot check that network namespace "lab" exists: ip netns list: ip: command not found$/,
        hint: /iproute2/,
      },
      'binary:ip': {
        fatal: true,
        message: /^ip not found on PATH .*: needed for entering a network namespace/,
        hint: PKG_HINT('iproute2'),
      },
    },
  },
];

async function runScenario(s: Scenario): Promise<PreflightCheck[]> {
  const proc = join(tmp, 'proc');
  mkdirSync(proc);
  if (s.capEff !== null) write('proc/self/status', statusFile(s.capEff ?? FULL_CAPS, s.capAmb));
  const events = s.events === undefined ? '1\n' : s.events;
  if (events !== null) write('proc/sys/net/netfilter/nf_conntrack_events', events);
  const netnsEvents = s.netnsEvents === undefined ? '1\n' : s.netnsEvents;
  if (netnsEvents !== null) write('netns-proc/sys/net/netfilter/nf_conntrack_events', netnsEvents);
  process.env.FAKE_NETNS_PROC = join(tmp, 'netns-proc');
  if (s.netnsList !== undefined) process.env.FAKE_NETNS_LIST = write('netns-list', s.netnsList);
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  for (const t of [...(s.tools ?? ALL_TOOLS), 'fake-lib.sh']) symlinkSync(join(FAKES, t), join(bin, t));
  process.env.PATH = bin;
  return runPreflight({
    node: s.netns ? { netns: s.netns } : {},
    natMode: s.natMode ?? 'auto',
    procRoot: proc,
    getuid: () => s.uid ?? 0,
    canUseFifo: async () => s.fifo ?? true,
  });
}

describe('runPreflight', () => {
  it.each(scenarios)('$name', async (s) => {
    const checks = await runScenario(s);
    expect(checks.map((c) => c.id)).toEqual(s.ids ?? BASE_IDS);
    const failed = checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.id).sort()).toEqual(Object.keys(s.failed).sort());
    for (const c of failed) {
      const want = s.failed[c.id]!;
      expect(c.fatal, `${c.id} fatal`).toBe(want.fatal);
      expect(c.message).toMatch(want.message);
      expect(c.hint ?? '').toMatch(want.hint);
    }
    for (const c of checks.filter((c) => c.ok)) expect(c.message).not.toBe('');
    expect(preflightVerdict(checks)).toBe(s.verdict);
    if (s.calls) expect(calls()).toEqual(s.calls);
  });

  it('marks conntrack and privileges fatal even when they pass, and the natMode tool only', async () => {
    const checks = await runScenario({ name: '', natMode: 'nft', verdict: 'ok', failed: {} });
    const fatal = Object.fromEntries(checks.map((c) => [c.id, c.fatal]));
    expect(fatal).toEqual({
      privileges: true,
      'binary:conntrack': true,
      'binary:iptables-save': false,
      'binary:nft': true,
      'binary:ipvsadm': false,
      'binary:ip': false,
      'listener-priority': false,
      nf_conntrack_events: false,
    });
    expect(checks.find((c) => c.id === 'binary:nft')?.message).toBe(
      `nft found at ${join(tmp, 'bin', 'nft')}`,
    );
  });

  it.skipIf(process.getuid?.() !== 0)('reports root ok with the real /proc and PATH', async () => {
    const checks = await runPreflight({ node: {}, natMode: 'auto' });
    const priv = checks.find((c) => c.id === 'privileges');
    expect(priv).toMatchObject({ ok: true, fatal: true, message: 'running as root with CAP_NET_ADMIN' });
  });
});

describe('formatPreflight and preflightVerdict', () => {
  const checks: PreflightCheck[] = [
    { id: 'privileges', ok: true, fatal: true, message: 'running as root with CAP_NET_ADMIN' },
    {
      id: 'binary:conntrack',
      ok: false,
      fatal: true,
      message: 'conntrack not found on PATH (/bin)',
      hint: 'install it',
    },
    {
      id: 'nf_conntrack_events',
      ok: false,
      fatal: false,
      message: 'nf_conntrack_events is "0"',
      hint: 'sysctl',
    },
    { id: 'binary:ip', ok: false, fatal: false, message: 'ip not found' },
  ];

  it('prints one line per failed check with its hint below', () => {
    expect(formatPreflight(checks).split('\n')).toEqual([
      'FATAL binary:conntrack: conntrack not found on PATH (/bin)',
      '      hint: install it',
      'WARN  nf_conntrack_events: nf_conntrack_events is "0"',
      '      hint: sysctl',
      'WARN  binary:ip: ip not found',
    ]);
  });

  it('says so when everything passed', () => {
    expect(formatPreflight(checks.slice(0, 1))).toBe('preflight: all 1 checks passed');
  });

  it('verdict: fatal beats degraded beats ok', () => {
    expect(preflightVerdict(checks)).toBe('fatal');
    expect(preflightVerdict(checks.slice(2))).toBe('degraded');
    expect(preflightVerdict(checks.slice(0, 1))).toBe('ok');
    expect(preflightVerdict([])).toBe('ok');
  });
});
