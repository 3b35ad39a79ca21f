/**
 * The NAT poller against the real kernel: kube-proxy's `ip kube-proxy` and `ip6 kube-proxy` tables (the fixtures'
 * .nft sources) loaded with nft, or its iptables rules loaded with iptables-restore (nf_tables backend), into a
 * throwaway network namespace, read through `ip netns exec`; and rule changes seen by `nft monitor`. Root only;
 * skipped with the reason otherwise.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatSnapshot, SourceState } from '@ctscope/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createNatPoller, detectNatMode, type NatPoller } from '../src/sources/nat-poller.js';
import type { SourceSink } from '../src/sources/source-types.js';
import { labSkipReason, TEST_LAB_PREFIX } from './lab/lab-harness.js';

const NAT = join(import.meta.dirname, '..', '..', 'shared', 'test', 'fixtures', 'nat');
const PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;
const skip = labSkipReason();

function sh(args: string[], input?: string): void {
  execFileSync(args[0]!, args.slice(1), {
    env: { ...process.env, PATH },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
    input,
  });
}

const made: string[] = [];
let poller: NatPoller | undefined;

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  for (const ns of made.splice(0)) sh(['ip', 'netns', 'delete', ns]);
});

function netnsWith(files: string[]): string {
  const ns = `${TEST_LAB_PREFIX}nft-${randomBytes(3).toString('hex')}`;
  sh(['ip', 'netns', 'add', ns]);
  made.push(ns);
  for (const f of files) sh(['ip', 'netns', 'exec', ns, 'nft', '-f', join(NAT, f)]);
  return ns;
}

/** A sink keeping the snapshots and source states it is given. */
function natSink(): { sink: SourceSink; got: NatSnapshot[]; states: SourceState[] } {
  const got: NatSnapshot[] = [];
  const states: SourceState[] = [];
  const sink: SourceSink = {
    onEventLine() {},
    onEventLoss() {},
    onDump() {},
    onCounters() {},
    onNat: (s) => got.push(s),
    onSourceState: (s) => states.push(s),
  };
  return { sink, got, states };
}

async function firstSnapshot(netns: string): Promise<NatSnapshot> {
  const { sink, got, states } = natSink();
  poller = createNatPoller({ sink, node: { netns }, mode: 'auto', intervalMs: 100 });
  poller.start();
  const deadline = Date.now() + 10_000;
  while (got.length === 0) {
    if (Date.now() > deadline) {
      const errors = states.flatMap((s) => (s.lastError ? [s.lastError] : []));
      throw new Error(`no snapshot within 10 s (${errors.join('; ')})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return got[0]!;
}

describe.skipIf(skip !== undefined)(`NAT poller, real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('reads the ip and the ip6 kube-proxy tables of a dual-stack node into one snapshot', async () => {
    const ns = netnsWith(['nft-kube-proxy.nft', 'nft-kube-proxy-ip6.nft']);
    expect(await detectNatMode({ netns: ns })).toBe('nft');
    const snap = await firstSnapshot(ns);
    expect(snap.source).toBe('nft');
    expect(snap.warnings).toEqual([]);
    const dns6 = snap.frontends.find((f) => f.ip === 'fd00:43::a');
    expect(dns6).toMatchObject({ port: 53, proto: 'udp', service: 'kube-system/kube-dns:dns' });
    expect(dns6!.endpoints).toEqual([{ ip: 'fd00:42::5', port: 53 }]);
    expect(snap.frontends.find((f) => f.ip === 'fd00:43::e')).toMatchObject({ noEndpointsRule: true });
    expect(snap.frontends.some((f) => !f.ip.includes(':') && f.ip !== '*')).toBe(true);
  }, 20_000);

  it('detects and reads an IPv6-only node (only table ip6 kube-proxy)', async () => {
    const ns = netnsWith(['nft-kube-proxy-ip6.nft']);
    expect(await detectNatMode({ netns: ns })).toBe('nft');
    const snap = await firstSnapshot(ns);
    expect(snap.frontends.map((f) => f.ip).sort()).toEqual(['fd00:43::a', 'fd00:43::e']);
  }, 20_000);

  it.each([
    {
      name: 'nft mode',
      load: (ns: string) => sh(['ip', 'netns', 'exec', ns, 'nft', '-f', join(NAT, 'nft-kube-proxy.nft')]),
      // One transaction: the table is never missing in between.
      change: (ns: string) =>
        sh(
          ['ip', 'netns', 'exec', ns, 'nft', '-f', '-'],
          `delete table ip kube-proxy\n${readFileSync(join(NAT, 'nft-blocked.nft'), 'utf8')}`,
        ),
      changed: (s: NatSnapshot) => s.frontends.some((f) => f.ip === '10.43.30.30'),
    },
    {
      name: 'iptables mode (nf_tables backend)',
      load: (ns: string) =>
        sh(
          ['ip', 'netns', 'exec', ns, 'iptables-restore'],
          readFileSync(join(NAT, 'iptables-blocked.rules'), 'utf8'),
        ),
      change: (ns: string) =>
        sh(
          ['ip', 'netns', 'exec', ns, 'iptables-restore'],
          readFileSync(join(NAT, 'iptables-local-endpoint.rules'), 'utf8'),
        ),
      // The node now has local endpoints: the "has no local endpoints" drops are gone.
      changed: (s: NatSnapshot) =>
        !s.frontends.some((f) => f.drops?.some((d) => d.kind === 'no-local-endpoints')),
    },
  ])(
    '$name: reads the rules again as soon as nft monitor reports a change, not at the next poll',
    async ({ load, change, changed }) => {
      const ns = `${TEST_LAB_PREFIX}nmon-${randomBytes(3).toString('hex')}`;
      sh(['ip', 'netns', 'add', ns]);
      made.push(ns);
      load(ns);
      const { sink, got, states } = natSink();
      // Watched, reads come only on a change (and every ten minutes); polled, every 200 ms.
      poller = createNatPoller({
        sink,
        node: { netns: ns },
        mode: 'auto',
        intervalMs: 200,
        backstopMs: 600_000,
      });
      poller.start();
      await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(2), {
        timeout: 10_000,
        interval: 50,
      });
      expect(states.at(-1)?.detail).toMatch(/^read on every rule change \(nft monitor\)/);
      expect(got.some(changed)).toBe(false);
      // Quiet rules are not read again (five polls' worth of time).
      const quiet = got.length;
      await new Promise((r) => setTimeout(r, 1000));
      expect(got.length).toBe(quiet);
      const before = got.length;
      change(ns);
      await vi.waitFor(() => expect(got.slice(before).some(changed)).toBe(true), {
        timeout: 10_000,
        interval: 50,
      });
      expect(states.at(-1)?.detail).toMatch(/^read on every rule change \(nft monitor\)/);
    },
    30_000,
  );
});
