/**
 * The NAT poller against the real kernel in nft mode: kube-proxy's `ip kube-proxy` and `ip6 kube-proxy` tables
 * (the fixtures' .nft sources) loaded with nft into a throwaway network namespace, read through
 * `ip netns exec`. Root only; skipped with the reason otherwise.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { NatSnapshot } from '@ctscope/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { createNatPoller, detectNatMode, type NatPoller } from '../src/sources/nat-poller.js';
import type { SourceSink } from '../src/sources/source-types.js';
import { labSkipReason, TEST_LAB_PREFIX } from './lab/lab-harness.js';

const NAT = join(import.meta.dirname, '..', '..', 'shared', 'test', 'fixtures', 'nat');
const PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;
const skip = labSkipReason();

function sh(args: string[]): void {
  execFileSync(args[0]!, args.slice(1), {
    env: { ...process.env, PATH },
    stdio: ['ignore', 'ignore', 'pipe'],
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

async function firstSnapshot(netns: string): Promise<NatSnapshot> {
  const got: NatSnapshot[] = [];
  const errors: string[] = [];
  const sink: SourceSink = {
    onEventLine() {},
    onEventLoss() {},
    onDump() {},
    onCounters() {},
    onNat: (s) => got.push(s),
    onSourceState: (s) => {
      if (s.lastError) errors.push(s.lastError);
    },
  };
  poller = createNatPoller({ sink, node: { netns }, mode: 'auto', intervalMs: 100 });
  poller.start();
  const deadline = Date.now() + 10_000;
  while (got.length === 0) {
    if (Date.now() > deadline) throw new Error(`no snapshot within 10 s (${errors.join('; ')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return got[0]!;
}

describe.skipIf(skip !== undefined)(
  `NAT poller, nft mode, real kernel${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
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
  },
);
