import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowStore, type NatSnapshot, parseIptablesSave } from '../src/index.js';
import { FIXTURES } from './fixtures.js';

const SEED = join(FIXTURES, 'seed-incident');
const nat = (f: string): NatSnapshot => parseIptablesSave(readFileSync(join(SEED, f), 'utf8'));
const after = nat('nat-after.txt');
const during = nat('nat-during.txt');

const NO_DNAT =
  '[1795689891.869716]\t    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=20978 id=137932478';
const HEALTHY = (sport: number, id: number) =>
  `[1795689888.889204]\t    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=172.20.112.199 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`;
const DESTROY = (sport: number, id: number) =>
  `[1795689891.854440]\t[DESTROY] ipv4     2 udp      17 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 src=172.20.112.199 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`;
const LIST = (timeout: number) =>
  `ipv4     2 udp      17 ${timeout} src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=20978 mark=0 use=1 id=137932478`;

describe('FlowStore', () => {
  it('raises an alert when a flow turns critical and clears it when the rules say otherwise', () => {
    const s = new FlowStore();
    s.setNat(after, 1000);
    s.ingestEventLine(NO_DNAT, 1000);
    const first = s.takeChanges();
    expect(first.upserts.map((f) => [f.id, f.verdict])).toEqual([['137932478', 'no-dnat']]);
    expect(first.alerts).toMatchObject([{ state: 'raised', flowId: '137932478', verdict: 'no-dnat' }]);
    // The service's rules vanish: the entry is now "no endpoints", a warning, so the critical alert clears.
    const change = s.setNat(during, 2000);
    expect(change?.diff.removedFrontends.map((f) => f.key)).toEqual(['udp|10.43.0.10|53']);
    const second = s.takeChanges();
    expect(second.upserts[0]).toMatchObject({ verdict: 'no-endpoints', severity: 'warning' });
    expect(second.alerts).toMatchObject([{ state: 'cleared', flowId: '137932478' }]);
  });

  it('sees a kept-alive entry from targeted polls two seconds apart', () => {
    const s = new FlowStore();
    s.setNat(after, 0);
    s.ingestEventLine(NO_DNAT, 0);
    // As the engine passes them: a poll has no start time of its own (its readings stay at their own time).
    s.ingestDump('poll', [LIST(29)], 2000, 2000 - 5000);
    expect(s.get('137932478')?.report.keptAlive).toBe(false);
    s.ingestDump('poll', [LIST(29)], 4000, 4000 - 5000);
    expect(s.get('137932478')?.report).toMatchObject({ keptAlive: true, timeoutResets: 1 });
  });

  // A full dump during a flood takes seconds; its lines were read by the kernel anywhere in that time.
  it.each([
    {
      name: 'a countdown listed early in a 7 s dump is not a refresh',
      readings: [
        { timeout: 29, startedAt: 0, at: 7000 },
        { timeout: 16, startedAt: 14_000, at: 14_000 },
      ],
      keptAlive: false,
      resets: 0,
    },
    {
      name: 'a real refresh still shows, even inside a long dump',
      readings: [
        { timeout: 29, startedAt: 0, at: 7000 },
        { timeout: 30, startedAt: 14_000, at: 20_000 },
      ],
      keptAlive: true,
      resets: 1,
    },
  ])('full dump readings are dated conservatively: $name', ({ readings, keptAlive, resets }) => {
    const s = new FlowStore();
    s.setNat(after, 0);
    s.ingestEventLine(NO_DNAT, 0);
    for (const r of readings) s.ingestDump('full', [LIST(r.timeout)], r.at, r.startedAt);
    expect(s.get('137932478')?.report).toMatchObject({ keptAlive, timeoutResets: resets });
  });

  it('retires live flows missing from a full dump, keeps destroyed flows for the retention, then forgets them', () => {
    const s = new FlowStore({ destroyedRetentionMs: 10_000 });
    s.setNat(after, 0);
    s.ingestEventLine(HEALTHY(1111, 1), 0);
    s.ingestEventLine(HEALTHY(2222, 2), 0);
    s.ingestEventLine(DESTROY(2222, 2), 1000);
    s.ingestDump('full', [], 20_000, 15_000);
    expect(s.get('1')?.report.destroyedAt).toBe(20_000);
    s.takeChanges();
    s.tick(12_000 + 1000);
    expect(s.get('2')).toBeUndefined();
    expect(s.takeChanges().removals).toEqual(['2']);
    s.tick(40_000);
    expect(s.stats().flows).toBe(0);
  });

  it('caps memory: evicts destroyed, then healthy flows, keeps bad ones, and counts what it dropped', () => {
    const s = new FlowStore({ maxFlows: 100 });
    s.setNat(after, 0);
    s.ingestEventLine(NO_DNAT, 0);
    s.takeChanges();
    for (let i = 1; i <= 150; i++) {
      s.ingestEventLine(HEALTHY(1000 + i, i), i);
      s.takeChanges();
    }
    const st = s.stats();
    expect(st.flows).toBeLessThanOrEqual(100);
    expect(st.evicted).toBe(151 - st.flows);
    // The oldest healthy flows went first.
    expect(s.get('1')).toBeUndefined();
    expect(s.get('150')).toBeDefined();
    expect(s.get('137932478')?.report.verdict).toBe('no-dnat');
  });

  it('counts unparseable lines and keeps the last reason', () => {
    const s = new FlowStore();
    s.ingestEventLine('garbage', 0);
    s.ingestEventLine(NO_DNAT.slice(0, 60), 0);
    expect(s.stats()).toMatchObject({ parseErrors: 2 });
    expect(s.stats().lastParseError).toMatch(/truncated|unexpected|missing|bad/);
  });

  it('turns an UNREPLIED flow to a live endpoint into "unanswered" as it ages, without new events', () => {
    const s = new FlowStore({ unansweredAfterMs: 5000 });
    s.setNat(after, 0);
    s.ingestEventLine(HEALTHY(3333, 3), 0);
    expect(s.takeChanges().upserts[0]?.verdict).toBe('ok');
    s.tick(6000);
    expect(s.takeChanges().upserts[0]).toMatchObject({ id: '3', verdict: 'unanswered', severity: 'warning' });
  });
});

// Which entries the poller re-reads: each re-read of a service lists every entry to it, so only flows whose
// verdict can use a timeout reading are worth it.
describe('FlowStore.suspects', () => {
  const ANSWERED = (sport: number, id: number) =>
    `[1795689888.889204]\t [UPDATE] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 src=172.20.112.199 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`;
  const NOT_A_SERVICE = (sport: number, id: number) =>
    `[1795689888.889204]\t    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=192.0.2.7 sport=${sport} dport=53 [UNREPLIED] src=192.0.2.7 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`;
  // From outside to an externalTrafficPolicy Local LB IP with no local endpoint, never DNATed: dropped on purpose.
  const blockedNat = parseIptablesSave(readFileSync(join(FIXTURES, 'nat', 'iptables-blocked.txt'), 'utf8'));
  const BLOCKED =
    '[1795689888.889204]\t    [NEW] ipv4     2 udp      17 30 src=192.0.2.99 dst=192.0.2.30 sport=40000 dport=7777 [UNREPLIED] src=192.0.2.30 dst=192.0.2.99 sport=7777 dport=40000 id=6';
  it.each<{ name: string; line: string; readAt: number; sport: number | undefined; nat?: NatSnapshot }>([
    { name: 'a never-DNATed entry, at once', line: NO_DNAT, readAt: 1000, sport: 52001 },
    {
      name: 'an UNREPLIED flow to an endpoint, once unanswered',
      line: HEALTHY(3333, 3),
      readAt: 6000,
      sport: 3333,
    },
    {
      name: 'a young UNREPLIED flow to an endpoint (ok whatever it reads)',
      line: HEALTHY(3333, 3),
      readAt: 4000,
      sport: undefined,
    },
    { name: 'an answered flow, however old', line: ANSWERED(4444, 4), readAt: 60_000, sport: undefined },
    {
      name: 'an UNREPLIED flow to no service',
      line: NOT_A_SERVICE(5555, 5),
      readAt: 60_000,
      sport: undefined,
    },
    { name: 'a blocked entry, at once', line: BLOCKED, readAt: 1000, sport: 40000, nat: blockedNat },
  ])('$name', ({ line, readAt, sport, nat }) => {
    const s = new FlowStore({ unansweredAfterMs: 5000 });
    s.setNat(nat ?? after, 0);
    s.ingestEventLine(line, 0);
    s.takeChanges();
    s.tick(readAt);
    s.takeChanges();
    expect(s.suspects().map((t) => t.sport)).toEqual(sport === undefined ? [] : [sport]);
  });

  it('drops a destroyed flow', () => {
    const s = new FlowStore({ unansweredAfterMs: 5000 });
    s.setNat(after, 0);
    s.ingestEventLine(NO_DNAT, 0);
    s.ingestEventLine(DESTROY(52001, 137932478), 1000);
    s.takeChanges();
    expect(s.suspects()).toEqual([]);
  });
});

describe('FlowStore.select', () => {
  it('returns bad flows worst first, then healthy live flows oldest first, then destroyed ones', () => {
    const s = new FlowStore();
    s.setNat(after, 0);
    s.ingestEventLine(HEALTHY(1001, 1), 0);
    s.ingestEventLine(HEALTHY(1002, 2), 10);
    s.ingestEventLine(DESTROY(1001, 1), 20);
    s.ingestEventLine(NO_DNAT, 30);
    s.ingestDump('poll', [LIST(29)], 2030);
    s.ingestDump('poll', [LIST(29)], 4030);
    s.ingestEventLine(HEALTHY(1003, 3), 4040);
    const { flows, total } = s.select(undefined, 10);
    expect(total).toBe(4);
    expect(flows.map((f) => f.id)).toEqual(['137932478', '2', '3', '1']);
    expect(s.select(undefined, 2).flows.map((f) => f.id)).toEqual(['137932478', '2']);
    // With a filter the same order holds.
    expect(s.select({ verdict: ['ok'] }, 10).flows.map((f) => f.id)).toEqual(['2', '3', '1']);
  });
});

describe('FlowStore with a missed DESTROY', () => {
  it('re-sends a flow replaced by a NEW with its id as gone, and retires it later', () => {
    const s = new FlowStore({ destroyedRetentionMs: 10_000 });
    s.setNat(after, 0);
    s.ingestEventLine(NO_DNAT, 0);
    expect(s.takeChanges().upserts.map((f) => f.id)).toEqual(['137932478']);
    // The DESTROY was lost (ENOBUFS); the kernel re-created the entry with the same id.
    s.ingestEventLine(NO_DNAT, 5000);
    const changes = s.takeChanges();
    const old = changes.upserts.find((f) => f.id === '137932478');
    expect(old?.destroyedAt).toBe(5000);
    expect(changes.alerts).toContainEqual(expect.objectContaining({ state: 'cleared', flowId: '137932478' }));
    s.tick(5000 + 11_000);
    expect(s.takeChanges().removals).toContain('137932478');
  });
});

describe('FlowStore dump readings', () => {
  // A full dump re-reads every live flow: one that only counted its timeout down is not re-judged or re-sent.
  const LISTED = (o: { timeout?: number; flag?: string; replySrc?: string; mark?: number } = {}) =>
    `ipv4     2 udp      17 ${o.timeout ?? 25} src=10.42.0.33 dst=10.43.0.10 sport=40000 dport=53 ${o.flag ?? '[UNREPLIED]'} src=${o.replySrc ?? '172.20.112.199'} dst=10.42.0.33 sport=53 dport=40000 mark=${o.mark ?? 0} use=1 id=7`;
  it.each([
    { name: 'a countdown (and the mark events never print)', line: LISTED(), resent: false },
    { name: 'a reset timeout', line: LISTED({ timeout: 30 }), resent: true },
    { name: 'answered since', line: LISTED({ flag: '' }), resent: true },
    { name: 'another reply source', line: LISTED({ replySrc: '10.43.0.10' }), resent: true },
  ])('$name: re-sent $resent', ({ line, resent }) => {
    const s = new FlowStore();
    s.setNat(after, 0);
    s.ingestEventLine(HEALTHY(40000, 7), 0);
    expect(s.takeChanges().upserts.map((f) => f.id)).toEqual(['7']);
    s.ingestDump('full', [line], 5000, 5000);
    expect(s.takeChanges().upserts.map((f) => f.id)).toEqual(resent ? ['7'] : []);
    // Either way the table holds the new reading.
    const timeout = Number(/udp +17 (\d+)/.exec(line)![1]);
    expect(s.get('7')?.report).toMatchObject({ timeout, lastSeen: 5000 });
    expect(s.get('7')?.flow.record).toMatchObject({ mark: 0, event: undefined });
  });

  it('a quiet reading leaves the next change judged as before', () => {
    const s = new FlowStore();
    s.setNat(after, 0);
    s.ingestEventLine(HEALTHY(40000, 7), 0);
    s.ingestDump('full', [LISTED()], 5000, 5000);
    s.ingestDump('full', [LISTED({ timeout: 20 })], 10_000, 10_000);
    s.takeChanges();
    s.ingestDump('full', [LISTED({ timeout: 30 })], 15_000, 15_000);
    expect(s.get('7')?.report).toMatchObject({ timeoutResets: 1 });
    expect(s.takeChanges().upserts.map((f) => f.id)).toEqual(['7']);
  });
});
