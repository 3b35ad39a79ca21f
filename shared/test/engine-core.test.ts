import { describe, expect, it } from 'vitest';
import {
  EngineCore,
  type Frontend,
  flowDetail,
  makeSnapshot,
  type NatSnapshot,
  parseIptablesSave,
  RECENT_ALERTS,
  SYNC_NAT_CHANGES,
  syncMessage,
} from '../src/index.js';
import { fixture } from './fixtures.js';

const T0 = 1_795_689_888_000;
const seedNat = (f: string): NatSnapshot => parseIptablesSave(fixture(`seed-incident/${f}`));
/** A client's DNS query to the kube-dns VIP, still un-NATed (reply from the VIP itself): `no-dnat` once rules exist. */
const newLine = (i: number, event = 'NEW') =>
  `[${(T0 + i) / 1000}]\t    [${event}] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${40000 + i} dport=53 [UNREPLIED] src=10.43.0.10 dst=10.42.0.33 sport=53 dport=${40000 + i} id=${i}`;
const frontend = (port: number, ep: string): Frontend => ({
  key: `udp|10.43.0.${port % 250}|${port}`,
  kind: 'cluster-ip',
  ip: `10.43.0.${port % 250}`,
  port,
  proto: 'udp',
  service: `ns/svc-${port}`,
  endpoints: [{ ip: ep, port }],
});

describe('EngineCore', () => {
  it('batches what changed since the last flush, then nothing', () => {
    const core = new EngineCore();
    core.onEventLine(newLine(1), T0 + 1);
    core.onSourceState({ name: 'events', state: 'running', restarts: 0, since: T0 });
    core.onCounters({ at: T0 + 1, count: 5, max: 100, stats: { insert_failed: 0 } });
    const b = core.flush(T0 + 10);
    expect(b.upserts.map((f) => f.id)).toEqual(['1']);
    expect(b.sources.map((s) => s.name)).toEqual(['events']);
    expect(b.counters).toMatchObject({ count: 5, max: 100, fill: 0.05 });
    expect(b.rates.some((r) => r.events.NEW === 1)).toBe(true);
    const again = core.flush(T0 + 20);
    expect(again).toMatchObject({ upserts: [], removals: [], sources: [], alerts: [], markers: [], nat: [] });
    expect(again.counters).toBeUndefined();
    expect(again.natView).toBeUndefined();
    expect(again.eventLoss).toBeUndefined();
  });

  it.each([
    { name: 'first snapshot', steps: ['nat-before.txt'], changes: 0, returned: [true] },
    {
      name: 'same rules twice',
      steps: ['nat-before.txt', 'nat-before.txt'],
      changes: 0,
      returned: [true, false],
    },
    {
      name: 'rules removed then back',
      steps: ['nat-before.txt', 'nat-during.txt', 'nat-after.txt'],
      changes: 2,
      returned: [true, true, true],
    },
  ])('NAT: $name', ({ steps, changes, returned }) => {
    const core = new EngineCore();
    const got = steps.map((f, i) => core.onNat(seedNat(f), T0 + i * 1000) !== undefined);
    expect(got).toEqual(returned);
    const b = core.flush(T0 + 10_000);
    expect(b.nat).toHaveLength(changes);
    expect(b.markers.filter((m) => m.kind === 'nat-change').length).toBeGreaterThanOrEqual(changes);
    expect(b.natView?.hash).toBe(core.store.current?.hash);
  });

  it('marks event loss as a gap, counts it and asks for a full dump', () => {
    const core = new EngineCore();
    const asked: number[] = [];
    core.onLoss = (at) => asked.push(at);
    core.onEventLoss('enobufs', '', T0);
    core.onEventLoss('source-restart', 'conntrack exited', T0 + 5);
    const b = core.flush(T0 + 10);
    // Each with when the loss happened, not when it was taken.
    expect(asked).toEqual([T0, T0 + 5]);
    expect(b.eventLoss).toBe(2);
    expect(b.markers.map((m) => [m.kind, m.reason])).toEqual([
      ['gap', 'enobufs'],
      ['gap', 'source-restart'],
    ]);
  });

  it('marks a counter jump', () => {
    const core = new EngineCore();
    core.onCounters({ at: T0, stats: { insert_failed: 1 } });
    core.onCounters({ at: T0 + 1000, stats: { insert_failed: 4 } });
    expect(core.flush(T0 + 2000).markers).toEqual([
      { t: T0 + 1000, kind: 'counter-jump', text: 'insert_failed +3' },
    ]);
  });

  it('turns a flood beyond maxUpserts into a reset', () => {
    const core = new EngineCore();
    for (let i = 1; i <= 20; i++) core.onEventLine(newLine(i), T0 + i);
    const b = core.flush(T0 + 100, 10);
    expect(b.reset).toBe(true);
    expect(b.upserts).toEqual([]);
  });

  it('raises an alert when a flow turns critical and keeps recent alerts across flushes and resets', () => {
    const core = new EngineCore();
    core.onNat(seedNat('nat-after.txt'), T0);
    core.onEventLine(newLine(1), T0 + 1);
    const b = core.flush(T0 + 10);
    // Dated from the event that showed it, not from the flush that judged it.
    expect(b.alerts).toEqual([
      { t: T0 + 1, state: 'raised', flowId: '1', service: 'kube-system/kube-dns:dns', verdict: 'no-dnat' },
    ]);
    for (let i = 2; i <= 20; i++) core.onEventLine(newLine(i), T0 + i);
    expect(core.flush(T0 + 100, 5).reset).toBe(true);
    expect(core.alerts().filter((a) => a.state === 'raised')).toHaveLength(20);
    core.onEventLine(newLine(1, 'DESTROY').replace(' 30 ', ' '), T0 + 200);
    core.flush(T0 + 300);
    expect(core.alerts().at(-1)).toMatchObject({ flowId: '1', state: 'cleared' });
  });

  it(`keeps at most ${RECENT_ALERTS} alerts`, () => {
    const core = new EngineCore();
    core.onNat(seedNat('nat-after.txt'), T0);
    for (let i = 1; i <= RECENT_ALERTS + 30; i++) core.onEventLine(newLine(i), T0 + i);
    core.flush(T0 + 1000);
    const alerts = core.alerts();
    expect(alerts).toHaveLength(RECENT_ALERTS);
    expect(alerts[0]?.flowId).toBe('31');
  });
});

describe('views built from a core', () => {
  it(`sends the newest ${SYNC_NAT_CHANGES} NAT changes in a sync`, () => {
    const core = new EngineCore({ maxNatVersions: 1000 });
    for (let i = 0; i <= SYNC_NAT_CHANGES + 50; i++) {
      core.onNat(
        makeSnapshot('iptables', [frontend(53, `172.20.0.${i % 250}`), frontend(1000 + i, '172.20.1.1')], []),
        T0 + i,
      );
    }
    expect(core.store.natChanges).toHaveLength(SYNC_NAT_CHANGES + 50);
    const sync = syncMessage(core, { seq: 3, flowLimit: 10, sources: [] });
    expect(sync.natChanges).toHaveLength(SYNC_NAT_CHANGES);
    expect(sync.natChanges.at(-1)).toEqual(core.store.natChanges.at(-1));
  });

  it('caps the flows of a sync and says so', () => {
    const core = new EngineCore();
    for (let i = 1; i <= 5; i++) core.onEventLine(newLine(i), T0 + i);
    core.flush(T0 + 10);
    const sync = syncMessage(core, { seq: 1, flowLimit: 3, sources: [] });
    expect(sync.flows).toHaveLength(3);
    expect(sync.truncated).toBe(true);
  });

  it('gives a flow detail with its timeout readings (DESTROY excluded) and the rules then and now', () => {
    const core = new EngineCore();
    core.onNat(seedNat('nat-during.txt'), T0);
    core.onEventLine(newLine(1), T0 + 1);
    core.onEventLine(newLine(1, 'UPDATE').replace(' 30 ', ' 29 '), T0 + 2);
    core.onNat(seedNat('nat-after.txt'), T0 + 3);
    // A DESTROY printed with a timeout: that number is not a countdown reading.
    core.onEventLine(newLine(1, 'DESTROY'), T0 + 4);
    core.flush(T0 + 10);
    const d = flowDetail(core, '1');
    expect(d?.history.map((h) => h.event)).toEqual(['NEW', 'UPDATE', 'DESTROY']);
    expect(d?.timeouts.map((h) => h.timeout)).toEqual([30, 29]);
    expect(d?.nat.atCreation?.frontend).toBeNull();
    expect(d?.nat.current?.frontend?.service).toBe('kube-system/kube-dns:dns');
    expect(flowDetail(core, 'nope')).toBeUndefined();
  });
});
