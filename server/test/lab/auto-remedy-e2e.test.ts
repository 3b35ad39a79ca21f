/**
 * Real-kernel end-to-end test of `ctscope serve --auto-remedy` on the lab (root only; the BUILT CLI), nft backend.
 *
 * Lab A (auto-remedy on), three faults in turn on separate tuples:
 * 1. `lab restart` (dns): every fixed-port DNS monitor answers again within RECOVERY_BOUND_MS of the rules
 *    returning, with no person acting; audit log, timeline marker, flow detail (successor ok), metrics and the
 *    recording show each delete; nothing else is deleted (the random-port entries born in the gap are never
 *    touched).
 * 2. `lab bypass-dnat` (echo): deleting does not help; each echo monitor's tuple is deleted exactly
 *    BREAKER times, then its breaker opens, an alert is raised and nothing more is deleted.
 * 3. `lab restart --no-restore` (dns): the rules never return; nothing is deleted and the kernel keeps the
 *    monitors' entries.
 * Lab B (dry-run): `lab restart` logs a would-be delete per monitor, deletes nothing, the monitors stay broken.
 *
 * Recovery bound, from the rules returning: verdict ≤ 1300 ms and kept alive ≤ 4800 ms after it (lab-e2e's
 * bounds); the settle time (2 × nat-poll = 1000 ms) runs concurrently with the kept-alive wait; then one
 * auto-remedy tick (250 ms), the re-check and delete (2 node commands, 200 ms each), the monitor's next query
 * (≤ 1000 ms, one a second) and its answer: 1300 + 4800 + 250 + 400 + 1000 + 250 slack = 8000 ms.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AutoRemedyAction, FlowAutoRemedyView, HelloMessage, SyncMessage } from '@ctscope/shared';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readRecording } from '../../src/recording/recording-reader.js';
import {
  apiFlows,
  clientLog,
  type LabClientInfo,
  type LabHandle,
  labCli,
  labSkipReason,
  newStateRoot,
  randomFreePort,
  startLab,
  stopLab,
  waitFor,
} from './lab-harness.js';

const NAT_POLL_MS = 500;
const SUSPECT_POLL_MS = 2000;
const RECOVERY_BOUND_MS = 8000;
/** serve's default --auto-remedy-breaker. */
const BREAKER = 3;
const skip = labSkipReason();
if (skip) console.warn(`auto-remedy e2e skipped: ${skip}`);
const measured: Record<string, number> = {};

interface AuditLine {
  t: string;
  action: string;
  flowId: string;
  result?: AutoRemedyAction['result'];
  reason?: string;
  orig?: AutoRemedyAction['orig'];
  argv?: string[];
}

/** One lab with this file's `ar-` name prefix, torn down after the describe. */
function useLab(autoRemedy: 'on' | 'dry-run'): () => LabHandle {
  const name = `ar-${autoRemedy === 'on' ? 'on' : 'dry'}-${process.pid % 100_000}`;
  let stateRoot = '';
  let lab: LabHandle | undefined;
  beforeAll(async () => {
    if (skip) return;
    stateRoot = newStateRoot();
    lab = await startLab({
      name,
      stateRoot,
      backend: 'nft',
      suspectPollMs: SUSPECT_POLL_MS,
      natPollMs: NAT_POLL_MS,
      autoRemedy,
      port: await randomFreePort(),
    });
  }, 60_000);
  afterAll(async () => {
    if (skip) return;
    await stopLab(lab ?? { name, stateRoot });
  }, 30_000);
  return () => {
    if (!lab) throw new Error('lab did not come up');
    return lab;
  };
}

const dataDir = (lab: LabHandle) => join(lab.stateRoot, lab.name, 'data');

async function audit(lab: LabHandle): Promise<AuditLine[]> {
  const text = await readFile(join(dataDir(lab), 'audit.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditLine);
}

const auto = (lines: AuditLine[]) => lines.filter((l) => l.action === 'auto-remedy');
const of = (c: Pick<LabClientInfo, 'src' | 'sport'>, vip: string) => (l: AuditLine) =>
  l.orig?.src === c.src && l.orig.sport === c.sport && l.orig.dst === vip;

async function get<T>(lab: LabHandle, path: string): Promise<T> {
  const r = await fetch(`${lab.url}${path}`, {
    headers: { authorization: `Bearer ${lab.token}` },
    signal: AbortSignal.timeout(5000),
  });
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
  return (path === '/metrics' ? await r.text() : await r.json()) as T;
}

/** hello and the first sync of a fresh WebSocket connection. */
async function helloAndSync(lab: LabHandle): Promise<{ hello: HelloMessage; sync: SyncMessage }> {
  const ws = new WebSocket(`${lab.url.replace('http', 'ws')}/ws?token=${lab.token}`);
  try {
    return await new Promise((resolve, reject) => {
      let hello: HelloMessage | undefined;
      const timer = setTimeout(() => reject(new Error('no hello+sync within 5 s')), 5000);
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as HelloMessage | SyncMessage;
        if (m.type === 'hello') hello = m;
        if (m.type === 'sync' && hello) {
          clearTimeout(timer);
          resolve({ hello, sync: m });
        }
      });
      ws.on('error', reject);
    });
  } finally {
    ws.close();
  }
}

/** `conntrack -L` in the node namespace for one client's tuple; the ids of the entries listed. */
async function kernelIds(lab: LabHandle, c: LabClientInfo, vip: string): Promise<string[]> {
  const r = await execa(
    'ip',
    [
      ...['netns', 'exec', lab.node, 'conntrack', '-L', '-p', 'udp'],
      ...(c.family === 6 ? ['-f', 'ipv6'] : []),
      ...['--orig-src', c.src],
      ...['--sport', String(c.sport), '--orig-dst', vip, '-o', 'id'],
    ],
    { reject: false, env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } },
  );
  return [...String(r.stdout).matchAll(/id=(\d+)/g)].map((m) => m[1]!);
}

async function metric(lab: LabHandle, result: string): Promise<number> {
  const text = await get<string>(lab, '/metrics');
  const m = new RegExp(`^ctscope_auto_remedy_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text);
  if (!m) throw new Error(`ctscope_auto_remedy_total{result="${result}"} missing from /metrics`);
  return Number(m[1]);
}

describe.skipIf(skip)('auto-remedy on the lab (nft)', () => {
  const lab = useLab('on');
  const svc = (key: string) => lab().services.find((s) => s.key === key)!;
  const fixed = (key: string) => lab().clients.filter((c) => c.mode === 'fixed' && c.service === key);

  it('is on, and says so in /api/stats and the hello', async () => {
    const stats = await get<{ autoRemedy: { mode: string; settleMs: number } }>(lab(), '/api/stats');
    expect(stats.autoRemedy).toMatchObject({ mode: 'on', settleMs: 2 * NAT_POLL_MS });
    expect((await helloAndSync(lab())).hello.autoRemedy).toBe('on');
  });

  it('lab restart: every fixed-port client answers again with no person acting; each action is on the trail; nothing else is deleted', async () => {
    const dns = svc('dns');
    const monitors = fixed('dns');
    expect(monitors.length).toBeGreaterThanOrEqual(2);
    const r = await labCli<{ rulesRestoredAt: number; rulesRemovedAt: number }>(lab().name, lab().stateRoot, [
      'restart',
      '--service',
      'dns',
      '--gap',
      '3',
    ]);
    for (const c of monitors) {
      const first = await waitFor(
        `${c.key} answered again after the rules returned`,
        async () => (await clientLog(c)).find((l) => l.at > r.rulesRestoredAt && l.ok === 1),
        RECOVERY_BOUND_MS + 2000,
      );
      measured[`${c.key} answered again after rules returned ms`] = first.at - r.rulesRestoredAt;
      expect(first.at - r.rulesRestoredAt, `${c.key} recovery`).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
      // It was broken in between (otherwise this proves nothing): a failed query after the rules returned.
      const failed = (await clientLog(c)).some(
        (l) => l.at > r.rulesRestoredAt && l.at < first.at && l.ok === 0,
      );
      expect(failed, `${c.key} was stuck before the auto-remedy`).toBe(true);
    }

    const lines = auto(await audit(lab()));
    const deleted = lines.filter((l) => l.result === 'deleted');
    // Exactly one delete per monitor, of exactly its tuple; nothing else was deleted.
    expect(deleted.map((l) => `${l.orig?.src}:${l.orig?.sport}`).sort()).toEqual(
      monitors.map((c) => `${c.src}:${c.sport}`).sort(),
    );
    for (const l of deleted) {
      // The dual-stack lab's IPv6 monitor talks to the IPv6 ClusterIP; its remedy carries -f ipv6.
      const c = monitors.find((m) => m.src === l.orig?.src && m.sport === l.orig?.sport)!;
      expect(l.argv).toEqual([
        ...['conntrack', '-D', '-p', 'udp', ...(c.family === 6 ? ['-f', 'ipv6'] : [])],
        ...['--orig-src', l.orig!.src, '--orig-dst', c.vip],
        ...['--sport', String(l.orig!.sport), '--dport', String(dns.port)],
      ]);
    }
    expect(await metric(lab(), 'deleted')).toBe(monitors.length);

    // Random-port entries born in the gap were judged no-dnat but never acted on.
    const flows = await apiFlows(lab());
    const fixedPorts = new Set(lab().clients.map((c) => c.sport));
    const gapRandom = flows.filter(
      (f) =>
        f.orig.dst === dns.vip &&
        !fixedPorts.has(f.orig.sport ?? -1) &&
        (f.createdAt ?? f.firstSeen) > r.rulesRemovedAt &&
        (f.createdAt ?? f.firstSeen) < r.rulesRestoredAt,
    );
    expect(gapRandom.length, 'random-port lookups made during the gap').toBeGreaterThan(0);
    expect(gapRandom.some((f) => f.verdict === 'no-dnat')).toBe(true);
    const actedOn = new Set(lines.map((l) => l.flowId));
    expect(gapRandom.filter((f) => actedOn.has(f.id))).toEqual([]);

    // The timeline has a marker per delete, and each deleted flow's detail names its (ok) successor.
    const { sync } = await helloAndSync(lab());
    const markers = sync.markers.filter((m) => m.kind === 'auto-remedy');
    for (const l of deleted) {
      expect(markers.some((m) => m.flowId === l.flowId && /deleted/.test(m.text))).toBe(true);
      const detail = await get<{ autoRemedy: FlowAutoRemedyView }>(
        lab(),
        `/api/flows/${encodeURIComponent(l.flowId)}`,
      );
      expect(detail.autoRemedy.actions.map((a) => a.result)).toContain('deleted');
      expect(detail.autoRemedy.successor, `successor of ${l.flowId}`).toMatchObject({ verdict: 'ok' });
      expect(detail.autoRemedy.successor!.id).not.toBe(l.flowId);
    }

    // The recording has every action, so a replay shows them.
    const recorded: AutoRemedyAction[] = [];
    for await (const r of readRecording(dataDir(lab()))) {
      if (!('error' in r) && r.k === 'remedy') recorded.push(r.action);
    }
    expect(
      recorded
        .filter((a) => a.result === 'deleted')
        .map((a) => a.flowId)
        .sort(),
    ).toEqual(deleted.map((l) => l.flowId).sort());
  }, 60_000);

  it('bypass-dnat: deleting does not help, so the breaker opens, an alert is raised, and deleting stops', async () => {
    const echo = svc('echo');
    const monitors = fixed('echo');
    expect(monitors.length).toBeGreaterThanOrEqual(1);
    await labCli(lab().name, lab().stateRoot, ['bypass-dnat', '--service', 'echo']);
    const started = Date.now();
    for (const c of monitors) {
      await waitFor(
        `${c.key}: breaker open`,
        async () => auto(await audit(lab())).find((l) => of(c, echo.vip)(l) && l.result === 'breaker-open'),
        60_000,
        250,
      );
      measured[`${c.key} breaker open after bypass ms`] = Date.now() - started;
    }
    // Let more ticks and polls pass: no more deletes for these tuples.
    await new Promise((r) => setTimeout(r, 3 * SUSPECT_POLL_MS));
    const lines = auto(await audit(lab()));
    for (const c of monitors) {
      const mine = lines.filter(of(c, echo.vip));
      expect(mine.filter((l) => l.result === 'deleted').length, `${c.key} deletes`).toBe(BREAKER);
      expect(mine[mine.length - 1]?.result).toBe('breaker-open');
      expect(mine.find((l) => l.result === 'breaker-open')?.reason).toMatch(/came back stuck 3 times/);
    }
    const { sync } = await helloAndSync(lab());
    const alerts = (sync.alerts ?? []).filter((a) => a.kind === 'auto-remedy-breaker');
    expect(alerts.length).toBeGreaterThanOrEqual(monitors.length);
    expect(alerts.every((a) => a.state === 'raised' && a.service === 'default/udp-echo:echo')).toBe(true);
    expect(sync.markers.some((m) => m.kind === 'auto-remedy' && /breaker open/.test(m.text))).toBe(true);
    expect(await metric(lab(), 'breaker-open')).toBeGreaterThanOrEqual(monitors.length);
  }, 90_000);

  it('restart --no-restore: the rules never return (no endpoints), so nothing is deleted', async () => {
    const before = auto(await audit(lab())).length;
    const deletedBefore = await metric(lab(), 'deleted');
    const r = await labCli<{ rulesRemovedAt: number }>(lab().name, lab().stateRoot, [
      ...['restart', '--service', 'dns', '--gap', '1', '--no-restore'],
    ]);
    // The monitors keep sending into the gap: each has a kept-alive entry the whole time.
    await new Promise((res) => setTimeout(res, 2 * SUSPECT_POLL_MS + 2 * NAT_POLL_MS + 1000));
    const idsBefore = await Promise.all(fixed('dns').map((c) => kernelIds(lab(), c, c.vip)));
    await new Promise((res) => setTimeout(res, 2 * SUSPECT_POLL_MS + 1000));
    const idsAfter = await Promise.all(fixed('dns').map((c) => kernelIds(lab(), c, c.vip)));
    for (const ids of idsBefore) expect(ids.length).toBe(1);
    expect(idsAfter).toEqual(idsBefore);
    expect(auto(await audit(lab())).slice(before)).toEqual([]);
    expect(await metric(lab(), 'deleted')).toBe(deletedBefore);
    // Still failing: nobody fixed anything behind our back.
    for (const c of fixed('dns')) {
      const after = (await clientLog(c)).filter((l) => l.at > r.rulesRemovedAt + 2000);
      expect(after.length).toBeGreaterThan(0);
      expect(after.every((l) => l.ok === 0)).toBe(true);
    }
  }, 60_000);
});

describe.skipIf(skip)('auto-remedy dry-run on the lab (nft)', () => {
  const lab = useLab('dry-run');

  it('logs every would-be delete and deletes nothing', async () => {
    const monitors = lab().clients.filter((c) => c.mode === 'fixed' && c.service === 'dns');
    await labCli(lab().name, lab().stateRoot, ['restart', '--service', 'dns', '--gap', '3']);
    for (const c of monitors) {
      await waitFor(
        `${c.key}: would-delete logged`,
        async () => auto(await audit(lab())).find((l) => of(c, c.vip)(l) && l.result === 'would-delete'),
        RECOVERY_BOUND_MS + 2000,
        250,
      );
    }
    const idsAt = await Promise.all(monitors.map((c) => kernelIds(lab(), c, c.vip)));
    await new Promise((res) => setTimeout(res, 3000));
    const lines = auto(await audit(lab()));
    expect(lines.filter((l) => l.result === 'deleted' || l.result === 'failed')).toEqual([]);
    const would = lines.filter((l) => l.result === 'would-delete');
    expect(would.map((l) => `${l.orig?.src}:${l.orig?.sport}`).sort()).toEqual(
      monitors.map((c) => `${c.src}:${c.sport}`).sort(),
    );
    for (const l of would) expect(l.argv?.slice(0, 2)).toEqual(['conntrack', '-D']);
    // The kernel entries are the same ones, and the monitors are still failing.
    expect(await Promise.all(monitors.map((c) => kernelIds(lab(), c, c.vip)))).toEqual(idsAt);
    const lastWould = Math.max(...would.map((l) => Date.parse(l.t)));
    for (const c of monitors) {
      const latest = (await clientLog(c)).filter((l) => l.at > lastWould);
      expect(latest.length).toBeGreaterThan(0);
      expect(latest.every((l) => l.ok === 0)).toBe(true);
    }
    expect(await metric(lab(), 'deleted')).toBe(0);
    expect(await metric(lab(), 'would-delete')).toBe(monitors.length);
    const { hello, sync } = await helloAndSync(lab());
    expect(hello.autoRemedy).toBe('dry-run');
    expect(sync.markers.filter((m) => m.kind === 'auto-remedy' && /would delete/.test(m.text)).length).toBe(
      monitors.length,
    );
  }, 60_000);
});

afterAll(() => {
  if (Object.keys(measured).length) console.log(`auto-remedy e2e measured: ${JSON.stringify(measured)}`);
});
