import {
  type AutoRemedyAction,
  EngineCore,
  type FlowReport,
  makeSnapshot,
  type TrackedFlow,
} from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import { AUTO_REMEDY_DEFAULTS, type AutoRemedyConfig } from '../../src/config.js';
import { AutoRemedy } from '../../src/remedy/auto-remedy.js';
import type { RecheckResult } from '../../src/remedy/recheck-entry.js';

const VIP = '10.43.0.10';
const DNS = 'kube-system/kube-dns:dns';
const frontend = (endpoints: Array<{ ip: string; port: number }>) => ({
  key: `udp|${VIP}|53`,
  kind: 'cluster-ip' as const,
  ip: VIP,
  port: 53,
  proto: 'udp',
  service: DNS,
  endpoints,
});
const WITH_ENDPOINTS = makeSnapshot('iptables', [frontend([{ ip: '10.42.0.11', port: 53 }])], []);
const NO_ENDPOINTS = makeSnapshot('iptables', [{ ...frontend([]), noEndpointsRule: true }], []);

/** An entry never DNATed (reply source = the VIP) from sport, with conntrack id `id`. */
const stuckNew = (sport: number, id: number) =>
  `    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=${VIP} sport=${sport} dport=53 [UNREPLIED] src=${VIP} dst=172.20.0.2 sport=53 dport=${sport} id=${id}`;
const stuckList = (sport: number, id: number, timeout: number) =>
  `ipv4     2 udp      17 ${timeout} src=10.42.0.33 dst=${VIP} sport=${sport} dport=53 [UNREPLIED] src=${VIP} dst=172.20.0.2 sport=53 dport=${sport} mark=0 use=1 id=${id}`;

/** A fake node: one EngineCore fed by hand, a fake clock, and a recording of every delete and re-check. */
class Harness {
  t = 1_000_000;
  readonly core = new EngineCore();
  readonly deleted: string[] = [];
  readonly audited: AutoRemedyAction[] = [];
  readonly recorded: AutoRemedyAction[] = [];
  recheckResult: RecheckResult = { same: true };
  rechecks = 0;
  natRunning = true;
  readonly remedy: AutoRemedy;

  constructor(config: Partial<AutoRemedyConfig> = {}, snapshot = WITH_ENDPOINTS) {
    this.core.onNat(snapshot, this.t);
    this.remedy = new AutoRemedy({
      core: this.core,
      config: { ...AUTO_REMEDY_DEFAULTS, mode: 'on', ...config },
      settleMs: 1000,
      now: () => this.t,
      recheck: async (_f: TrackedFlow) => {
        this.rechecks++;
        return this.recheckResult;
      },
      deleteFlow: async (r: FlowReport) => {
        this.deleted.push(r.id);
        this.core.markDeleted(r.id, this.t);
        return { ok: true, command: ['conntrack', '-D'], message: 'deleted' };
      },
      audit: async (a) => {
        this.audited.push(a);
      },
      record: (a) => this.recorded.push(a),
      natRunning: () => this.natRunning,
    });
  }

  /** A stuck entry that the client refreshes: NEW, then two readings 2 s apart whose timeout did not count down. */
  stick(sport: number, id: number): void {
    this.core.onEventLine(stuckNew(sport, id), this.t);
    this.t += 2000;
    this.core.onDump('poll', [stuckList(sport, id, 29)], this.t);
    this.t += 2000;
    this.core.onDump('poll', [stuckList(sport, id, 29)], this.t);
  }

  async ticks(n: number, stepMs = 250): Promise<void> {
    for (let i = 0; i < n; i++) {
      await this.remedy.tick();
      this.t += stepMs;
    }
  }

  results(): string[] {
    return this.audited.map((a) => `${a.flowId}:${a.result}`);
  }
}

describe('AutoRemedy (fake clock, real engine core)', () => {
  it.each<{
    name: string;
    config?: Partial<AutoRemedyConfig>;
    snapshot?: typeof WITH_ENDPOINTS;
    setup: (h: Harness) => void;
    deleted: string[];
    audited: string[];
    rechecks?: number;
  }>([
    {
      name: 'deletes a kept-alive no-dnat entry once the rules have settled',
      setup: (h) => h.stick(52001, 11),
      deleted: ['11'],
      audited: ['11:deleted'],
    },
    {
      name: 'dry-run deletes nothing and reports the would-be delete once',
      config: { mode: 'dry-run' },
      setup: (h) => h.stick(52001, 11),
      deleted: [],
      audited: ['11:would-delete'],
    },
    {
      name: 'an entry not (yet) seen kept alive is left alone',
      setup: (h) => h.core.onEventLine(stuckNew(52001, 11), h.t),
      deleted: [],
      audited: [],
    },
    {
      name: 'a service with no endpoints: nothing is deleted (no-endpoints is not on the allow-list)',
      snapshot: NO_ENDPOINTS,
      setup: (h) => h.stick(52001, 11),
      deleted: [],
      audited: [],
    },
    {
      name: 'the kernel entry was re-created since it was judged: not deleted, reported as changed, never re-read',
      setup: (h) => {
        h.stick(52001, 11);
        h.recheckResult = { same: false, why: 'the tuple was re-created (kernel id 12, judged 11)' };
      },
      rechecks: 1,
      deleted: [],
      audited: ['11:changed'],
    },
    {
      name: 'the NAT source is failing: a stable snapshot is not a settled one',
      setup: (h) => {
        h.stick(52001, 11);
        h.natRunning = false;
      },
      deleted: [],
      audited: [],
    },
    {
      name: 'per-service rate limit: the second entry waits, reported once however many ticks',
      config: { servicePerMinute: 1 },
      setup: (h) => {
        h.stick(52001, 11);
        h.stick(52002, 12);
      },
      deleted: ['11'],
      audited: ['11:deleted', '12:rate-limited'],
    },
    {
      name: 'node-wide rate limit',
      config: { nodePerMinute: 1, servicePerMinute: 10 },
      setup: (h) => {
        h.stick(52001, 11);
        h.stick(52002, 12);
      },
      deleted: ['11'],
      audited: ['11:deleted', '12:rate-limited'],
    },
  ])('$name', async ({ config, snapshot, setup, deleted, audited, rechecks }) => {
    const h = new Harness(config, snapshot);
    setup(h);
    await h.ticks(20);
    expect(h.deleted).toEqual(deleted);
    expect(h.results()).toEqual(audited);
    // Everything audited is also recorded and counted.
    expect(h.recorded.map((a) => `${a.flowId}:${a.result}`)).toEqual(audited);
    const totals = h.core.remedyLog.totals();
    expect(Object.values(totals).reduce((a, b) => a + b, 0)).toBe(audited.length);
    if (rechecks !== undefined) expect(h.rechecks).toBe(rechecks);
  });

  it('a re-check that could not read the entry is retried after a pause; one that saw another entry is not', async () => {
    const h = new Harness();
    h.stick(52001, 11);
    h.stick(52002, 12);
    h.recheckResult = { same: false, why: 'could not re-read the entry: timed out', retry: true };
    await h.ticks(8); // 2 s: one re-check per flow, then the pause
    expect(h.rechecks).toBe(2);
    h.recheckResult = { same: true };
    await h.ticks(16); // past the 5 s pause: both re-checked again, and deleted
    expect(h.deleted).toEqual(['11', '12']);
    expect(h.results()).toEqual(['11:changed', '12:changed', '11:deleted', '12:deleted']);
  });

  it('waits for the snapshot to settle after a NAT change', async () => {
    const h = new Harness();
    h.stick(52001, 11);
    // The rules change (a second endpoint) just now: a kube-proxy sync may be in progress.
    h.core.onNat(
      makeSnapshot(
        'iptables',
        [
          frontend([
            { ip: '10.42.0.11', port: 53 },
            { ip: '10.42.0.12', port: 53 },
          ]),
        ],
        [],
      ),
      h.t,
    );
    await h.ticks(3, 250);
    expect(h.deleted).toEqual([]);
    await h.ticks(2, 250);
    expect(h.deleted).toEqual(['11']);
  });

  it('opens the breaker when the same tuple comes back stuck, raises one alert and stops deleting', async () => {
    const h = new Harness({ breakerThreshold: 2 });
    let id = 20;
    for (let round = 0; round < 3; round++) {
      h.stick(52001, ++id);
      await h.ticks(4);
    }
    await h.ticks(20);
    // Deleted twice; the third time it came back the breaker opened, and it stays reported once.
    expect(h.deleted).toEqual(['21', '22']);
    expect(h.results()).toEqual(['21:deleted', '22:deleted', '23:breaker-open']);
    const batch = h.core.flush(h.t);
    const breakerAlerts = batch.alerts.filter((a) => a.kind === 'auto-remedy-breaker');
    expect(breakerAlerts).toMatchObject([{ state: 'raised', flowId: '23', service: DNS }]);
    expect(batch.markers.filter((m) => m.kind === 'auto-remedy').map((m) => m.text)).toEqual([
      `auto-remedy deleted 10.42.0.33:52001 → ${VIP}:53 (${DNS})`,
      `auto-remedy deleted 10.42.0.33:52001 → ${VIP}:53 (${DNS})`,
      `auto-remedy breaker open, stopped deleting 10.42.0.33:52001 → ${VIP}:53 (${DNS})`,
    ]);
  });

  it('finds the successor: the entry the next packet created after the delete', async () => {
    const h = new Harness();
    h.stick(52001, 11);
    await h.ticks(2);
    expect(h.deleted).toEqual(['11']);
    h.t += 500;
    h.core.onEventLine(
      `    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=${VIP} sport=52001 dport=53 [UNREPLIED] src=10.42.0.11 dst=10.42.0.33 sport=53 dport=52001 id=11`,
      h.t,
    );
    const deletedAt = h.core.remedyLog.forFlow('11')[0]!.t;
    const next = h.core.store.successorOf(
      { proto: 'udp', src: '10.42.0.33', dst: VIP, sport: 52001, dport: 53 },
      deletedAt,
    );
    // The kernel re-used id 11 for the new entry; the tracker keeps it apart from the deleted one.
    expect(next).toMatchObject({ id: '11-2', verdict: 'ok' });
    expect(next?.id).not.toBe('11');
  });
});
