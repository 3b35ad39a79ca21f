import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerMessage } from '@ctscope/shared';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NodeAgent } from '../src/engine/node-agent.js';
import { buildApp } from '../src/http/app.js';
import type { WsHub } from '../src/http/ws-hub.js';
import { SEED, seedScenario, waitFor, withEnv } from './seed-scenario.js';

interface Running {
  app: FastifyInstance;
  agent: NodeAgent;
  hub: WsHub;
  restore: () => void;
}

let running: Running | undefined;
const sockets: WebSocket[] = [];

async function start(env: Record<string, string>, hubOptions = {}): Promise<Running> {
  const s = seedScenario({ suspectPollMs: 1000 });
  const restore = withEnv({ ...s.env, ...env });
  const agent = new NodeAgent(s.config);
  const app = Fastify();
  const hub = await buildApp(app, { engine: agent, hub: hubOptions });
  await app.ready();
  await agent.start();
  hub.start();
  running = { app, agent, hub, restore };
  return running;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  if (!running) return;
  await running.app.close();
  await running.agent.stop();
  running.restore();
  running = undefined;
});

async function stats(app: FastifyInstance) {
  return (await app.inject({ method: 'GET', url: '/api/stats' })).json();
}

describe('serve under faults (fake node tools)', () => {
  it('a crashing conntrack -E is restarted with backoff, counted as event loss, and triggers a full resync', async () => {
    const { app } = await start({ FAKE_CT_EVENTS_AFTER: 'crash' });
    const s = await waitFor(async () => {
      const st = await stats(app);
      const events = st.sources.find((x: { name: string }) => x.name === 'events');
      return events.restarts >= 1 && st.eventLoss >= 1 && st.dump.dumps >= 2 ? st : undefined;
    }, 8000);
    const events = s.sources.find((x: { name: string }) => x.name === 'events');
    expect(events.lastError).toMatch(/exit|crash|code/i);
    const markers = (await app.inject({ method: 'GET', url: '/api/nat' })).statusCode;
    expect(markers).toBe(200);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/ctscope_source_restarts_total\{source="events"\} [1-9]/);
    expect(metrics).toMatch(/ctscope_event_loss_total [1-9]/);
    // The server itself is still up and answering.
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  }, 15_000);

  it('ENOBUFS mid-stream counts as event loss, marks a gap and resyncs, while lines keep flowing', async () => {
    const { app, agent } = await start({ FAKE_CT_ENOBUFS_AT: '5' });
    const st = await waitFor(async () => {
      const s = await stats(app);
      return s.eventLoss >= 1 && s.dump.dumps >= 2 && s.flows.events.NEW >= 20 ? s : undefined;
    }, 8000);
    expect(st.flows.events.NEW + st.flows.events.UPDATE + st.flows.events.DESTROY).toBe(
      readFileSync(join(SEED, 'events-ts-ext-id.txt'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('[')).length,
    );
    expect(agent.core.markers().some((m) => m.kind === 'gap' && m.reason === 'enobufs')).toBe(true);
  }, 15_000);

  it('garbage lines are counted as parse errors and lose nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctscope-garbage-'));
    const good = readFileSync(join(SEED, 'events-ts-ext-id.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('['));
    const mixed = good.flatMap((l, i) => (i % 10 === 0 ? [l, 'garbage \u0000 line', l.slice(0, 40)] : [l]));
    const file = join(dir, 'events.txt');
    writeFileSync(file, `${mixed.join('\n')}\n`);
    const { app } = await start({ FAKE_CT_EVENTS: file });
    const expectedErrors = mixed.length - good.length;
    const st = await waitFor(async () => {
      const s = await stats(app);
      return s.flows.parseErrors === expectedErrors ? s : undefined;
    }, 5000);
    expect(st.flows.events.NEW + st.flows.events.UPDATE + st.flows.events.DESTROY).toBe(good.length);
    expect(st.flows.lastParseError).toMatch(/garbage|truncated|unrecognised/);
  }, 10_000);

  it('a client that never reads gets bounded buffering and a resync, while a reading client keeps up (real port)', async () => {
    // A long event stream: the flood sample, repeated with fresh ids.
    const dir = mkdtempSync(join(tmpdir(), 'ctscope-flood-'));
    mkdirSync(dir, { recursive: true });
    const flood = readFileSync(join(SEED, '..', 'flood-sample.txt'), 'utf8')
      .trim()
      .split('\n');
    const lines: string[] = [];
    for (let r = 0; r < 20; r++)
      for (const l of flood)
        lines.push(
          l
            .replace(/id=(\d+)/, (_m, id) => `id=${Number(id) + r}`)
            .replace(/sport=48602/, `sport=${40000 + r}`),
        );
    const file = join(dir, 'events.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    // The window holds every flow here, so the reading client can account for all of them.
    const { app, hub } = await start(
      { FAKE_CT_EVENTS: file },
      { clientBudgetBytes: 64 * 1024, windowRows: 200_000 },
    );
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const wsUrl = `${url.replace('http', 'ws')}/ws`;

    const stalled = new WebSocket(wsUrl);
    sockets.push(stalled);
    await new Promise((r) => stalled.once('open', r));
    // Stop reading: the kernel buffers fill, then the server's bufferedAmount grows.
    (stalled as unknown as { _socket: { pause: () => void } })._socket.pause();

    const seen = new Set<string>();
    let lastSeq = 0;
    const reader = new WebSocket(wsUrl);
    sockets.push(reader);
    reader.on('message', (d) => {
      const m = JSON.parse(String(d)) as ServerMessage;
      if (m.type === 'sync') for (const f of m.flows) seen.add(f.id);
      if (m.type === 'delta') for (const f of m.upserts) seen.add(f.id);
      if (m.type === 'sync' || m.type === 'delta') lastSeq = m.seq;
    });
    const st = await waitFor(async () => {
      const s = await stats(app);
      return s.flows.events.NEW >= lines.length && hub.stats().resyncs >= 1 ? s : undefined;
    }, 20_000);
    // Everything ingested reaches the reading client within a few batches.
    await waitFor(() => (seen.size >= st.flows.flows ? true : undefined), 5000);
    expect(lastSeq).toBeGreaterThan(0);
    expect(st.flows.events.NEW).toBe(lines.length);
    expect(seen.size).toBe(st.flows.flows);
    reader.close();
    stalled.terminate();
  }, 30_000);
});
