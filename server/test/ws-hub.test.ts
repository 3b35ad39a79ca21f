import { EngineCore, type ServerMessage } from '@ctscope/shared';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { coreOnlyEngine } from '../src/engine/engine.js';
import { buildApp } from '../src/http/app.js';
import type { WsHub } from '../src/http/ws-hub.js';

const line = (i: number) =>
  `[1795689888.889204]\t    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${40000 + i} dport=53 [UNREPLIED] src=10.43.0.10 dst=172.20.112.199 sport=53 dport=${20000 + i} id=${i}`;

const apps: Array<{ close: () => Promise<unknown> }> = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

async function setup() {
  const core = new EngineCore();
  const app = Fastify();
  // The test drives ticks by hand, so the hub's timer is never started.
  const hub: WsHub = await buildApp(app, { engine: coreOnlyEngine(core) });
  await app.ready();
  apps.push(app);
  return { core, app, hub };
}

async function connect(app: Awaited<ReturnType<typeof setup>>['app'], url: string) {
  const messages: ServerMessage[] = [];
  const ws = await app.injectWS(
    url,
    {},
    { onInit: (s) => s.on('message', (d) => messages.push(JSON.parse(String(d)))) },
  );
  const next = async (n: number) => {
    for (let i = 0; i < 100 && messages.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    return messages;
  };
  return { ws, messages, next };
}

describe('WsHub', () => {
  it('resumes a reconnecting client from its last seq with the missed deltas, not a full sync', async () => {
    const { core, app, hub } = await setup();
    const a = await connect(app, '/ws');
    await a.next(2);
    core.onEventLine(line(1), Date.now());
    hub.tick();
    await a.next(3);
    const seen = a.messages.at(-1);
    expect(seen?.type).toBe('delta');
    const lastSeq = seen?.type === 'delta' ? seen.seq : -1;
    a.ws.terminate();
    // Missed while away:
    core.onEventLine(line(2), Date.now());
    hub.tick();
    core.onEventLine(line(3), Date.now());
    hub.tick();
    const instance = a.messages[0]?.type === 'hello' ? a.messages[0].instance : '';
    const b = await connect(app, `/ws?resume=${lastSeq}&instance=${instance}`);
    const got = await b.next(3);
    expect(got.map((m) => m.type)).toEqual(['hello', 'delta', 'delta']);
    const ids = got.flatMap((m) => (m.type === 'delta' ? m.upserts.map((f) => f.id) : []));
    expect(ids).toEqual(['2', '3']);
    b.ws.terminate();
  });

  it.each([
    { name: 'a seq from the future', resume: 99 },
    { name: 'a seq from another server run', resume: 0, instance: 'another-run' },
    { name: 'no resume at all', resume: undefined },
  ])('sends a full sync for $name', async ({ resume, instance }: { resume?: number; instance?: string }) => {
    const { core, app, hub } = await setup();
    core.onEventLine(line(1), Date.now());
    hub.tick();
    const c = await connect(
      app,
      resume === undefined ? '/ws' : `/ws?resume=${resume}&instance=${instance ?? hub.instance}`,
    );
    const got = await c.next(2);
    expect(got.map((m) => m.type)).toEqual(['hello', 'sync']);
    c.ws.terminate();
  });

  it('applies each client filter on the server and answers bad messages with an error', async () => {
    const { core, app, hub } = await setup();
    const critical = await connect(app, '/ws?severity=critical');
    const ok = await connect(app, '/ws?verdict=ok');
    await critical.next(2);
    await ok.next(2);
    core.onEventLine(line(7), Date.now());
    hub.tick();
    await critical.next(3);
    await ok.next(3);
    const d1 = critical.messages[2];
    const d2 = ok.messages[2];
    // No NAT snapshot: the flow is ok; it never enters the critical-only client's window.
    expect(d1?.type === 'delta' && d1.upserts.length === 0).toBe(true);
    expect(d2?.type === 'delta' && d2.upserts.map((f) => f.id)).toEqual(['7']);
    ok.ws.send('not json');
    ok.ws.send(JSON.stringify({ type: `bogus${'x'.repeat(1000)}` }));
    const errs = (await ok.next(5)).filter((m) => m.type === 'error');
    expect(errs).toHaveLength(2);
    // Input is never echoed back.
    for (const e of errs) expect(JSON.stringify(e)).not.toContain('bogus');
    critical.ws.terminate();
    ok.ws.terminate();
  });
});

describe('WsHub hardening', () => {
  it.each([
    { name: 'a text filter that is not a string', filter: { text: 5 } },
    { name: 'an unknown verdict', filter: { verdict: ['bogus'] } },
    { name: 'an unknown field', filter: { nope: 1 } },
    { name: 'a port out of range', filter: { port: 70000 } },
  ])('answers a subscribe with $name with an error, and keeps serving', async ({ filter }) => {
    const { core, app, hub } = await setup();
    core.onEventLine(line(1), Date.now());
    hub.tick();
    const c = await connect(app, '/ws');
    await c.next(2);
    c.ws.send(JSON.stringify({ type: 'subscribe', filter }));
    const got = await c.next(3);
    expect(got[2]?.type).toBe('error');
    // The hub still works for this client.
    core.onEventLine(line(2), Date.now());
    hub.tick();
    const after = await c.next(4);
    expect(after[3]?.type).toBe('delta');
    expect(hub.stats().errors).toBe(0);
    c.ws.terminate();
  });

  it('refuses a cross-origin WebSocket when no token is set', async () => {
    const { app } = await setup();
    const closed = new Promise<number>((resolve) => {
      void app.injectWS(
        '/ws',
        { headers: { origin: 'http://evil.example', host: 'localhost:80' } },
        {
          onInit: (s) => s.on('close', (code) => resolve(code)),
        },
      );
    });
    expect(await closed).toBe(1008);
  });
});
