/**
 * Real-kernel end-to-end test: `ctscope lab up` (the BUILT CLI) builds namespaces with kube-proxy-layout rules,
 * UDP responders and clients, and ctscope serve watches the node namespace. For each fault we assert through
 * the REST API that every affected fixed-port client's entry is flagged within a stated bound, that healthy
 * flows stay ok, and that deleting the entry through the API (with the token) makes the client's queries work
 * again. Once per iptables backend (nft, and legacy when the kernel has it), one fresh lab per fault, always
 * torn down.
 *
 * Detection bounds (also in docs/lab.md):
 *
 * - Verdict (no-dnat / stale-endpoint), from the moment the lab put the rules back / updated them. The broken
 *   entry itself is already known (its NEW event arrives within milliseconds, or it was in the table all along);
 *   what is missing is the NAT snapshot that makes it wrong. The NAT poller sleeps NAT_POLL_MS between dumps, so
 *   the first dump that starts after the change starts at most NAT_POLL_MS + one dump later (a dump already
 *   running may have read the old rules) and needs one more dump's time to finish: NAT_POLL_MS + 2 D. The store
 *   re-judges flows at the WebSocket hub's next flush (every FLUSH_MS), which is what GET /api/flows returns.
 *   D (`ip netns exec` + iptables-save -t nat and -t filter) measured 20-60 ms; we budget 200 ms, plus SLACK_MS
 *   for scheduling and this test's own 100 ms polling step:
 *     VERDICT_BOUND_MS = 500 + 2 × 200 + 100 + 300 = 1300 ms.
 * - Kept alive, from the verdict. The entry becomes a suspect when it is judged bad; the suspect poller re-reads
 *   it at most SUSPECT_POLL_MS + one `conntrack -L` later, and again SUSPECT_POLL_MS + one query after that.
 *   Reset detection compares consecutive readings more than 1.5 s apart (DEFAULT_RESET_TOLERANCE_S) and the
 *   client refreshes the entry every second, so two polls 2 s apart show a timeout that did not count down:
 *     KEPT_ALIVE_BOUND_MS = 2 × (2000 + 200) + 100 + 300 = 4800 ms.
 *   This needs SUSPECT_POLL_MS > 1.5 s: at 1000 ms consecutive readings are ~1 s apart and are never compared,
 *   so the lab (and this test) use 2000 ms.
 */
import { readFile } from 'node:fs/promises';
import type { FlowReport } from '@ctscope/shared';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutSaveComments } from '../../src/lab/kube-proxy-rules.js';
import type { IptablesBackend } from '../../src/lab/lab-netns.js';
import { labNatRules } from '../../src/lab/lab-rules.js';
import { readState } from '../../src/lab/lab-state.js';
import { responderReadyAt } from '../../src/lab/udp-wire.js';
import {
  apiDelete,
  apiFlows,
  availableBackends,
  clientLog,
  type LabClientInfo,
  type LabHandle,
  labCli,
  labSkipReason,
  listNetns,
  liveFlowOf,
  newStateRoot,
  runsLab,
  startLab,
  stopLab,
  uniqueLabName,
  waitFor,
} from './lab-harness.js';

const NAT_POLL_MS = 500;
const SUSPECT_POLL_MS = 2000;
/** ws-hub flush interval: verdicts are re-judged there. */
const FLUSH_MS = 100;
/** One node command (`ip netns exec` + iptables-save or conntrack -L): measured 20-60 ms. */
const COMMAND_BUDGET_MS = 200;
/** Scheduling, plus this test's 100 ms polling step. */
const SLACK_MS = 300;
const VERDICT_BOUND_MS = NAT_POLL_MS + 2 * COMMAND_BUDGET_MS + FLUSH_MS + SLACK_MS;
const KEPT_ALIVE_BOUND_MS = 2 * (SUSPECT_POLL_MS + COMMAND_BUDGET_MS) + FLUSH_MS + SLACK_MS;
const GAP_S = 3;

const skip = labSkipReason();
const backends = availableBackends();
/** Every lab this file started, checked at the end. */
const created: Array<{ name: string; clients: LabClientInfo[] }> = [];
/** Measured latencies, printed at the end (the numbers docs/lab.md quotes). */
const measured: Record<string, number> = {};

if (skip) console.warn(`lab e2e skipped: ${skip}`);

interface RestartJson {
  rulesRemovedAt: number;
  entriesDeleted: number;
  rulesRestoredAt: number;
  vip: string;
  vip6?: string;
}
interface ReplaceJson {
  pod: string;
  oldIp: string;
  newIp: string;
  rulesUpdatedAt: number;
  clients: Array<{ client: string; src: string; sport: number; endpoint?: string; stale: boolean }>;
}
type Seen = Map<string, { flow: FlowReport; at: number }>;

/** Registers beforeAll/afterAll for one fresh lab in the current describe; the getter is valid inside tests. */
function useLab(backend: IptablesBackend): () => LabHandle {
  const name = uniqueLabName();
  let stateRoot = '';
  let lab: LabHandle | undefined;
  beforeAll(async () => {
    if (skip) return;
    stateRoot = newStateRoot();
    lab = await startLab({
      name,
      stateRoot,
      backend,
      suspectPollMs: SUSPECT_POLL_MS,
      natPollMs: NAT_POLL_MS,
    });
    created.push({ name, clients: lab.clients });
  }, 30_000);
  afterAll(async () => {
    if (skip) return;
    // Always, also after a failed test or a half-made lab: `lab down` is idempotent and works without state.
    await stopLab(lab ?? { name, stateRoot });
  }, 30_000);
  return () => {
    if (!lab) throw new Error('lab did not come up');
    return lab;
  };
}

function helpers(getLab: () => LabHandle, tag: string) {
  const lab = () => getLab();
  const service = (key: string) => lab().services.find((s) => s.key === key)!;
  const fixedClients = (svc: string) => lab().clients.filter((c) => c.mode === 'fixed' && c.service === svc);

  /**
   * Polls the API every 100 ms for all clients at once and records when `pred` first held for each client's live
   * flow (so one client's wait never delays another's measurement).
   */
  async function firstSeen(
    clients: readonly LabClientInfo[],
    what: string,
    pred: (f: FlowReport) => boolean,
    timeoutMs: number,
  ): Promise<Seen> {
    const seen: Seen = new Map();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const flows = await apiFlows(lab());
      const at = Date.now();
      for (const c of clients) {
        const f = liveFlowOf(flows, c, c.vip);
        if (!seen.has(c.key) && f && pred(f)) seen.set(c.key, { flow: f, at });
      }
      if (seen.size === clients.length) return seen;
      if (Date.now() > deadline) {
        const why: string[] = [];
        for (const c of clients.filter((x) => !seen.has(x.key))) {
          const mine = flows.filter(
            (f) => f.orig.src === c.src && f.orig.sport === c.sport && f.orig.dst === c.vip,
          );
          const listed = mine.map(
            (f) => `id ${f.id} ${f.verdict} reply ${f.reply.src}${f.destroyedAt ? ' destroyed' : ''}`,
          );
          const kernel = await kernelEntry(c);
          const kernelId = /id=(\d+)/.exec(kernel)?.[1];
          const reused = mine.some((f) => f.id === kernelId && f.destroyedAt !== undefined)
            ? " [ctscope bug: the kernel gave the new entry the destroyed entry's conntrack id, and ctscope folded it into the destroyed flow]"
            : '';
          why.push(`${c.key}: ctscope lists [${listed.join(', ')}], kernel has ${kernel}${reused}`);
        }
        throw new Error(`${what}: not within ${timeoutMs} ms (${why.join('; ')})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Random-port flows from the lab's clients to `vip` first seen after `since`: all must be ok. */
  async function assertFreshRandomFlowsOk(vip: string, since: number, min: number): Promise<void> {
    const randomSrcs = new Set(
      lab()
        .clients.filter((c) => c.mode === 'random')
        .map((c) => c.src),
    );
    const fixedPorts = new Set(lab().clients.map((c) => c.sport));
    const fresh = await waitFor(
      `at least ${min} random-port flows to ${vip}`,
      async () => {
        const flows = (await apiFlows(lab())).filter(
          (f) =>
            f.orig.dst === vip &&
            randomSrcs.has(f.orig.src) &&
            !fixedPorts.has(f.orig.sport ?? -1) &&
            f.firstSeen > since,
        );
        return flows.length >= min ? flows : undefined;
      },
      min * 1000 + 3000,
    );
    for (const f of fresh)
      expect(f, `random-port flow ${f.orig.src}:${f.orig.sport}`).toMatchObject({
        verdict: 'ok',
        severity: 'ok',
      });
  }

  /** The kernel's entry for a client (node namespace), as `conntrack -L -o id` prints it. */
  async function kernelEntry(c: LabClientInfo): Promise<string> {
    const args = [
      '-L',
      '-p',
      'udp',
      ...(c.family === 6 ? ['-f', 'ipv6'] : []),
      '--orig-src',
      c.src,
      '--sport',
      String(c.sport),
      '--orig-dst',
      c.vip,
      '-o',
      'id',
    ];
    const r = await execa('ip', ['netns', 'exec', lab().node, 'conntrack', ...args], { reject: false });
    return String(r.stdout).trim() || '(none)';
  }

  /** The reply source of the kernel's entry for a client, or undefined. */
  async function kernelReplySource(c: LabClientInfo): Promise<string | undefined> {
    return /src=\S+ dst=\S+ sport=\d+ dport=\d+ (?:\[UNREPLIED\] )?src=(\S+)/.exec(await kernelEntry(c))?.[1];
  }

  /** Delete via the API with the token; the deleted entry leaves the live set and the client is answered again. */
  async function deleteAndRecover(client: LabClientInfo, flow: FlowReport, current: string[]): Promise<void> {
    const del = await apiDelete(lab(), flow.id);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body.ok).toBe(true);
    expect(del.body.command).toEqual(['conntrack', ...flow.remedy!.split(' ').slice(1)]);
    const deletedAt = Date.now();
    await waitFor(
      `${client.key}: deleted flow ${flow.id} no longer listed as live`,
      async () => {
        const old = (await apiFlows(lab())).find((f) => f.id === flow.id);
        return !old || old.destroyedAt !== undefined ? true : undefined;
      },
      2000,
    );
    // The client queries every second and logs each query's result one interval later.
    const answered = await waitFor(
      `${client.key} answered again after the delete`,
      async () => (await clientLog(client)).find((l) => l.at > deletedAt && l.ok > 0),
      4000,
    );
    measured[`${tag} ${client.key} answered after delete ms`] = answered.at - deletedAt;
    // The kernel's new entry is DNATed to a current endpoint.
    expect(current).toContain(await kernelReplySource(client));
    // Recorded, not asserted: the kernel often gives the re-created entry the deleted one's conntrack id (same
    // tuple, same freed slab object), and ctscope then folds it into the destroyed flow instead of listing it.
    const healed = liveFlowOf(await apiFlows(lab()), client, client.vip);
    measured[`${tag} ${client.key} API lists the healed flow`] = Number(healed?.verdict === 'ok');
  }

  return { lab, service, fixedClients, firstSeen, assertFreshRandomFlowsOk, deleteAndRecover };
}

describe.each(backends)('ctscope lab on the real kernel (iptables %s)', (backend) => {
  describe('restart (the seed incident)', () => {
    const h = helpers(useLab(backend), `${backend} restart`);
    const tag = `${backend} restart`;

    it.skipIf(skip)(
      'comes up healthy: kube-proxy layout loaded, every client answered, no query left unanswered, fixed-port flows ok',
      async () => {
        const lab = h.lab();
        const state = (await readState(lab.stateRoot, lab.name))!;
        const normalize = (t: string) =>
          withoutSaveComments(t)
            .replace(/\[\d+:\d+\]/g, '[0:0]')
            .trim();
        for (const family of [4, 6] as const) {
          const tool = `${family === 6 ? 'ip6tables' : 'iptables'}-${backend}-save`;
          const saved = String((await execa('ip', ['netns', 'exec', lab.node, tool, '-t', 'nat'])).stdout);
          expect(normalize(saved), tool).toBe(normalize(labNatRules(state, family)));
          expect(saved).toContain('-m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-');
        }
        for (const c of lab.clients)
          expect(
            (await clientLog(c)).some((l) => l.ok > 0),
            c.key,
          ).toBe(true);
        // Clients start once every responder listens: a query sent earlier is refused and its entry stays unreplied
        // (so `unanswered`) for the UDP timeout on a healthy lab.
        const readyAt = await Promise.all(
          state.processes
            .filter((p) => p.role === 'responder')
            .map(async (p) => responderReadyAt(await readFile(p.log, 'utf8')) ?? Number.POSITIVE_INFINITY),
        );
        for (const c of lab.clients)
          expect((await clientLog(c))[0]!.at, `${c.key}'s first query`).toBeGreaterThanOrEqual(
            Math.max(...readyAt),
          );
        // No entry left unreplied since the lab came up (one in flight is < 2 s old).
        const inNode = async (...args: string[]) =>
          String((await execa('ip', ['netns', 'exec', lab.node, ...args])).stdout);
        const udpTimeout = Number(await inNode('cat', '/proc/sys/net/netfilter/nf_conntrack_udp_timeout'));
        for (const family of ['ipv4', 'ipv6']) {
          const stale = (await inNode('conntrack', '-L', '-p', 'udp', '-f', family))
            .split('\n')
            .filter((l) => l.includes('[UNREPLIED]') && Number(l.split(/\s+/)[2]) < udpTimeout - 2);
          expect(stale, `${family} entries left unreplied`).toEqual([]);
        }
        const dns = h.service('dns');
        const fixed = h.fixedClients('dns');
        expect(fixed.map((c) => c.family).sort()).toEqual([4, 4, 6]);
        const seen = await h.firstSeen(fixed, 'healthy flows', () => true, 5000);
        for (const c of fixed) {
          const { flow } = seen.get(c.key)!;
          expect(flow, c.key).toMatchObject({ verdict: 'ok', severity: 'ok', unreplied: false });
          const endpoints = dns.endpoints.map((e) => (c.family === 6 ? e.ip6 : e.ip));
          expect(endpoints).toContain(flow.reply.src);
        }
      },
      20_000,
    );

    it.skipIf(skip)(
      `flags each fixed-port DNS client no-dnat ≤ ${VERDICT_BOUND_MS} ms after the rules return, kept alive ≤ ${KEPT_ALIVE_BOUND_MS} ms later; API delete fixes it`,
      async () => {
        const lab = h.lab();
        const r = await labCli<RestartJson>(lab.name, lab.stateRoot, ['restart', '--gap', String(GAP_S)]);
        expect(r.entriesDeleted).toBeGreaterThan(0);
        expect(r.rulesRestoredAt - r.rulesRemovedAt).toBeGreaterThanOrEqual(GAP_S * 1000 - 50);
        expect(r.vip6).toBe(h.service('dns').vip6);

        // Both families: the IPv4 monitors and the IPv6 one ([fd00:42::33]:52001 -> [fd00:43::a]:53).
        const monitors = h.fixedClients('dns');
        expect(monitors.some((c) => c.family === 6)).toBe(true);
        const verdicts = await h.firstSeen(
          monitors,
          'no-dnat',
          (f) => f.verdict === 'no-dnat',
          VERDICT_BOUND_MS + 2000,
        );
        const kept = await h.firstSeen(
          monitors,
          'kept alive',
          (f) => f.verdict === 'no-dnat' && f.keptAlive,
          KEPT_ALIVE_BOUND_MS + 3000,
        );
        for (const c of monitors) {
          const v = verdicts.get(c.key)!;
          const k = kept.get(c.key)!;
          measured[`${tag} ${c.key} no-dnat after restore ms`] = v.at - r.rulesRestoredAt;
          measured[`${tag} ${c.key} kept-alive after verdict ms`] = k.at - v.at;
          // Whether ctscope can tell the entry was born in the gap depends on a NAT poll landing between the rule
          // removal and the client's next packet (up to 1 s later): recorded, not asserted.
          measured[`${tag} ${c.key} createdDuringRuleGap`] = Number(k.flow.createdDuringRuleGap);
          expect(v.at - r.rulesRestoredAt, `${c.key} no-dnat latency`).toBeLessThanOrEqual(VERDICT_BOUND_MS);
          expect(k.at - v.at, `${c.key} kept-alive latency`).toBeLessThanOrEqual(KEPT_ALIVE_BOUND_MS);
          expect(v.flow).toMatchObject({
            severity: 'critical',
            unreplied: true,
            reply: { src: c.vip, sport: 53 },
          });
          expect(v.flow.badFields).toEqual(['reply.src', 'reply.sport']);
          const family = c.family === 6 ? ' -f ipv6' : '';
          expect(v.flow.remedy).toBe(
            `conntrack -D -p udp${family} --orig-src ${c.src} --orig-dst ${c.vip} --sport ${c.sport} --dport 53`,
          );
          expect(k.flow).toMatchObject({ verdict: 'no-dnat', severity: 'critical', keptAlive: true });
        }
        // The clients really are broken: no answer to any query sent after the rules came back.
        for (const c of monitors) {
          await waitFor(
            `${c.key} logged a query sent after the restore`,
            async () => (await clientLog(c)).find((l) => l.at > r.rulesRestoredAt),
            3000,
          );
          expect(
            (await clientLog(c)).filter((l) => l.at > r.rulesRestoredAt).every((l) => l.ok === 0),
            c.key,
          ).toBe(true);
        }
        // No false positives: the other service's fixed-port flow, and random-port flows created after the rules returned.
        const echo = h.service('echo');
        for (const c of h.fixedClients('echo')) {
          expect(liveFlowOf(await apiFlows(lab), c, echo.vip)).toMatchObject({
            verdict: 'ok',
            severity: 'ok',
          });
        }
        await h.assertFreshRandomFlowsOk(r.vip, r.rulesRestoredAt + 50, 2);
        await h.assertFreshRandomFlowsOk(r.vip6!, r.rulesRestoredAt + 50, 1);

        const endpoints = h.service('dns').endpoints;
        for (const c of monitors) {
          const current = endpoints.map((e) => (c.family === 6 ? e.ip6! : e.ip));
          await h.deleteAndRecover(c, kept.get(c.key)!.flow, current);
        }
      },
      40_000,
    );
  });

  describe('replace-endpoint (no conntrack clean-up)', () => {
    const h = helpers(useLab(backend), `${backend} replace-endpoint`);
    const tag = `${backend} replace-endpoint`;

    it.skipIf(skip)(
      `flags the fixed-port clients pinned to the old address stale-endpoint ≤ ${VERDICT_BOUND_MS} ms after the rules change; API delete fixes it`,
      async () => {
        const lab = h.lab();
        const dns = h.service('dns');
        const r = await labCli<ReplaceJson>(lab.name, lab.stateRoot, ['replace-endpoint']);
        const byKey = (k: string) => lab.clients.find((x) => x.key === k)!;
        // The default pod is the one the first fixed-port client is pinned to, so at least that one is stale.
        const stale = r.clients.filter((c) => c.stale).map((c) => byKey(c.client));
        expect(stale.length).toBeGreaterThan(0);
        const current = [...dns.endpoints.map((e) => e.ip).filter((ip) => ip !== r.oldIp), r.newIp];

        const verdicts = await h.firstSeen(
          stale,
          'stale-endpoint',
          (f) => f.verdict === 'stale-endpoint',
          VERDICT_BOUND_MS + 2000,
        );
        for (const c of stale) {
          const v = verdicts.get(c.key)!;
          measured[`${tag} ${c.key} stale-endpoint after update ms`] = v.at - r.rulesUpdatedAt;
          expect(v.at - r.rulesUpdatedAt, `${c.key} stale-endpoint latency`).toBeLessThanOrEqual(
            VERDICT_BOUND_MS,
          );
          expect(v.flow).toMatchObject({ severity: 'critical', reply: { src: r.oldIp, sport: 53 } });
          expect(v.flow.badFields).toContain('reply.src');
          expect(v.flow.expectedEndpoints.map((e) => e.ip).sort()).toEqual([...current].sort());
        }
        // No false positives: fixed-port clients pinned to the endpoint that stayed, the other service, fresh random flows.
        const flows = await apiFlows(lab);
        for (const s of r.clients.filter((x) => !x.stale)) {
          const c = byKey(s.client);
          expect(liveFlowOf(flows, c, c.vip), s.client).toMatchObject({ verdict: 'ok' });
        }
        for (const c of h.fixedClients('echo'))
          expect(liveFlowOf(flows, c, h.service('echo').vip)).toMatchObject({ verdict: 'ok' });
        await h.assertFreshRandomFlowsOk(dns.vip, r.rulesUpdatedAt + 50, 2);

        for (const c of stale) {
          await waitFor(
            `${c.key} failing after the replacement`,
            async () => (await clientLog(c)).find((l) => l.at > r.rulesUpdatedAt + 100 && l.ok === 0),
            3000,
          );
        }
        for (const c of stale) await h.deleteAndRecover(c, verdicts.get(c.key)!.flow, current);
      },
      40_000,
    );
  });
});

describe('labs started side by side', () => {
  it.skipIf(skip)(
    'each gets its own serve, although both pick the first free port',
    async () => {
      const names = [uniqueLabName(), uniqueLabName()];
      const roots = names.map(() => newStateRoot());
      const labs = await Promise.allSettled(
        names.map((name, i) => startLab({ name, stateRoot: roots[i], suspectPollMs: SUSPECT_POLL_MS })),
      );
      try {
        const up = labs.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
        expect(
          labs.map((r) => (r.status === 'rejected' ? String(r.reason) : 'up')),
          'both labs up',
        ).toEqual(['up', 'up']);
        expect(up[0]!.url).not.toBe(up[1]!.url);
        // Each lab's token opens its own serve: a lab handed the other's serve would get 401 here.
        for (const lab of up) expect(Array.isArray(await apiFlows(lab!, 'limit=1')), lab!.name).toBe(true);
      } finally {
        for (const [i, name] of names.entries()) {
          const r = labs[i]!;
          await stopLab({ name, stateRoot: r.status === 'fulfilled' ? r.value.stateRoot : roots[i]! });
        }
      }
    },
    60_000,
  );
});

describe('after every lab', () => {
  it.skipIf(skip)('left no namespaces or processes behind', async () => {
    console.info('lab e2e measured:', measured);
    expect(created.length).toBe(backends.length * 2);
    // Only this file's labs: other test files run labs with the same prefix at the same time.
    const left = (await listNetns()).filter((n) => created.some(({ name }) => n.startsWith(`${name}-`)));
    expect(left).toEqual([]);
    for (const { name, clients } of created)
      for (const c of clients) expect(runsLab(c.pid, name), `${c.key} ${c.pid}`).toBe(false);
  });
});
