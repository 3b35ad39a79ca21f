import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowReport, ServerMessage } from '@ctscope/shared';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeAgent } from '../src/engine/node-agent.js';
import { ReplayEngine } from '../src/engine/replay-engine.js';
import { buildApp } from '../src/http/app.js';
import { replayRoutes } from '../src/http/recording-routes.js';
import { seedScenario, waitFor, withEnv } from './seed-scenario.js';

describe('ctscope serve on the seed incident (fake node tools)', () => {
  const scenario = seedScenario({ suspectPollMs: 2000 });
  let restoreEnv: () => void;
  let agent: NodeAgent;
  const app = Fastify();
  let liveFlows: FlowReport[] = [];

  beforeAll(async () => {
    restoreEnv = withEnv(scenario.env);
    agent = new NodeAgent(scenario.config);
    const hub = await buildApp(app, { engine: agent });
    await app.ready();
    await agent.start();
    hub.start();
  });

  afterAll(async () => {
    await app.close();
    await agent?.stop();
    restoreEnv();
  });

  /** `conntrack -L` runs that ask for one service (the suspect poller's), from the fake tool's call log. */
  function suspectPolls(): number {
    const log = join(scenario.env.FAKE_CT_STATE_DIR!, 'calls.log');
    if (!existsSync(log)) return 0;
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((c) => c.includes(' -L ') && c.includes('--orig-dst')).length;
  }

  async function flows(query = ''): Promise<FlowReport[]> {
    const r = await app.inject({ method: 'GET', url: `/api/flows${query}` });
    expect(r.statusCode).toBe(200);
    return r.json().flows;
  }

  it('flags the sport 52001 flow as no-dnat, critical and kept alive within two suspect-poll intervals', async () => {
    const first = await waitFor(
      async () => (await flows('?verdict=no-dnat')).find((f) => f.orig.sport === 52001),
      5000,
    );
    const pollsAtFlag = suspectPolls();
    expect(first).toMatchObject({ verdict: 'no-dnat', severity: 'critical' });
    const kept = await waitFor(
      async () => (await flows()).find((f) => f.orig.sport === 52001 && f.keptAlive),
      10_000,
    );
    // Counted in suspect polls, not milliseconds: a loaded CI machine stretches the clock, not the poll count.
    // One poll may already be running when the flow is flagged, so two intervals are at most three polls.
    expect(suspectPolls() - pollsAtFlag).toBeLessThanOrEqual(3);
    expect(kept).toMatchObject({
      id: '137932478',
      verdict: 'no-dnat',
      severity: 'critical',
      keptAlive: true,
      remedy: 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53',
    });
    const all = await flows();
    for (const sport of [59807, 39068]) {
      expect(all.find((f) => f.orig.sport === sport)).toMatchObject({ verdict: 'no-dnat', keptAlive: false });
    }
    expect(all.filter((f) => f.verdict === 'ok').every((f) => f.reply.src === '172.20.112.199')).toBe(true);
    liveFlows = all;
  }, 20_000);

  it('serves the flow detail with lifecycle and remedy', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/flows/137932478' });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.remedy).toContain('--sport 52001');
    expect(body.history.map((h: { event: string }) => h.event)).toContain('NEW');
    expect(body.timeouts.length).toBeGreaterThanOrEqual(2);
    expect(body.nat.current.frontend.endpoints).toEqual([{ ip: '172.20.112.199', port: 53 }]);
    expect((await app.inject({ method: 'GET', url: '/api/flows/999' })).statusCode).toBe(404);
  });

  it('counts it in /metrics', async () => {
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    const m = /ctscope_flows\{verdict="no-dnat",severity="critical"\} (\d+)/.exec(r.body);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(3);
    expect(r.body).toMatch(/ctscope_events_total\{type="NEW"\} \d+/);
    expect(r.body).toMatch(/ctscope_source_up\{source="events"\} 1/);
    // Alerts name the service: the critical flows are counted under it, and no label carries a flow.
    const svc = /ctscope_service_flows\{service="([^"]+)",severity="critical"\} (\d+)/.exec(r.body);
    expect(svc?.[1]).toContain('kube-dns');
    expect(Number(svc?.[2])).toBe(Number(m?.[1]));
    expect(r.body).not.toMatch(/52001|sport|flow_id/);
  });

  it('reports NAT history with the rule gap, and stats', async () => {
    const nat = (await app.inject({ method: 'GET', url: '/api/nat' })).json();
    expect(nat.current.frontends[0].key).toBe('udp|10.43.0.10|53');
    expect(nat.changes.length).toBeGreaterThanOrEqual(2);
    const stats = (await app.inject({ method: 'GET', url: '/api/stats' })).json();
    expect(stats.flows.live).toBeGreaterThan(0);
    // The server's own memory: resident covers the heap, which covers what is used of it.
    const mem = stats.process;
    expect(mem.heapUsedBytes).toBeGreaterThan(0);
    expect(mem.heapTotalBytes).toBeGreaterThanOrEqual(mem.heapUsedBytes);
    expect(mem.rssBytes).toBeGreaterThan(mem.heapUsedBytes);
    expect(stats.sources.map((s: { name: string }) => s.name).sort()).toEqual([
      'counters',
      'dump',
      'events',
      'nat',
      'poll',
    ]);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json().status).toBe('ok');
  });

  it('rejects bad filters and refuses deletes when not allowed', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/flows?verdict=bogus' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/api/flows?port=99999' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'DELETE', url: '/api/flows/137932478' })).statusCode).toBe(403);
  });

  it('streams hello, then a sync holding the flagged flow, over /ws (injectWS)', async () => {
    const messages: ServerMessage[] = [];
    // The server speaks first, so listen before the upgrade completes.
    const ws = await app.injectWS(
      '/ws?verdict=no-dnat',
      {},
      {
        onInit: (socket) => socket.on('message', (d) => messages.push(JSON.parse(String(d)))),
      },
    );
    await waitFor(() => (messages.some((m) => m.type === 'sync') ? true : undefined), 3000);
    expect(messages[0]?.type).toBe('hello');
    const sync = messages.find((m) => m.type === 'sync');
    if (sync?.type !== 'sync') throw new Error('no sync');
    expect(sync.flows.every((f) => f.verdict === 'no-dnat')).toBe(true);
    expect(sync.flows.find((f) => f.orig.sport === 52001)?.severity).toBe('critical');
    ws.terminate();
  });

  it('replays its recording to the same verdicts', async () => {
    await agent.stop();
    const replay = await ReplayEngine.open(scenario.config.dataDir);
    expect(replay.recording.index.errors).toEqual([]);
    replay.clock.seek(replay.clock.state().end);
    await replay.settled();
    replay.flush();
    const replayed = new Map(replay.core.store.reports().map((f) => [f.id, f]));
    expect(liveFlows.length).toBeGreaterThan(3);
    for (const live of liveFlows.filter((f) => f.destroyedAt === undefined)) {
      const r = replayed.get(live.id);
      expect(r, `flow ${live.id}`).toBeDefined();
      expect({ id: r!.id, verdict: r!.verdict, keptAlive: r!.keptAlive }).toEqual({
        id: live.id,
        verdict: live.verdict,
        keptAlive: live.keptAlive,
      });
    }
  }, 20_000);

  it('serves the recording through the same API, and scrubbing changes what it shows', async () => {
    const replay = await ReplayEngine.open(scenario.config.dataDir);
    const rapp = Fastify();
    const hub = await buildApp(rapp, { engine: replay, extraRoutes: replayRoutes(replay) });
    await rapp.ready();
    try {
      const clock = (await rapp.inject({ method: 'GET', url: '/api/replay' })).json();
      const seek = async (t: number) => {
        const r = await rapp.inject({ method: 'POST', url: '/api/replay', payload: { action: 'seek', t } });
        expect(r.statusCode).toBe(200);
        await replay.settled();
        hub.tick();
        return (await rapp.inject({ method: 'GET', url: '/api/flows?severity=critical' })).json()
          .total as number;
      };
      expect(await seek(clock.end)).toBeGreaterThanOrEqual(3);
      expect(await seek(clock.start)).toBe(0);
      expect(await seek(clock.end)).toBeGreaterThanOrEqual(3);
      expect(
        (await rapp.inject({ method: 'POST', url: '/api/replay', payload: { action: 'warp' } })).statusCode,
      ).toBe(400);
      expect((await rapp.inject({ method: 'DELETE', url: '/api/flows/137932478' })).statusCode).toBe(403);
    } finally {
      await rapp.close();
    }
  });
});
