import { EventEmitter } from 'node:events';
import { EngineCore, type ServerMessage } from '@ctscope/shared';
import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { coreOnlyEngine } from '../../src/engine/engine.js';
import { buildApp } from '../../src/http/app.js';
import { type HubOptions, WsHub } from '../../src/http/ws-hub.js';

const line = (i: number) =>
  `[1795689888.889204]\t    [NEW] ipv4     2 udp      17 30 src=10.42.${i >> 8}.${i & 255} dst=10.43.0.10 sport=${40000 + (i % 20000)} dport=53 [UNREPLIED] src=10.43.0.10 dst=10.42.${i >> 8}.${i & 255} sport=53 dport=${40000 + (i % 20000)} id=${i}`;

/** A socket stand-in whose unsent bytes are whatever was sent and not yet "read". */
class FakeSocket extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Buffer[] = [];
  closed?: { code: number; reason: string };
  terminated = false;
  pings = 0;
  /** A reading peer drains at once; a stalled one keeps everything queued. */
  constructor(readonly reads: boolean) {
    super();
  }
  send(data: Buffer): void {
    this.sent.push(data);
    if (!this.reads) this.bufferedAmount += data.length;
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.readyState = 2;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
    this.emit('close');
  }
  ping(): void {
    this.pings++;
  }
  messages(): ServerMessage[] {
    return this.sent.map((b) => JSON.parse(b.toString()));
  }
  types(): string[] {
    return this.messages().map((m) => m.type);
  }
  say(obj: unknown): void {
    this.emit('message', Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)), false);
  }
}

function hubWith(flows: number, options: Partial<HubOptions> = {}) {
  const core = new EngineCore();
  const now = Date.now();
  for (let i = 1; i <= flows; i++) core.onEventLine(line(i), now + i);
  core.flush(now + flows);
  const hub = new WsHub(coreOnlyEngine(core), options);
  return { core, hub };
}

const attach = (hub: WsHub, ws: FakeSocket, opts: Parameters<WsHub['attach']>[1] = {}) =>
  hub.attach(ws as unknown as WebSocket, { address: '10.0.0.1', ...opts });

describe('shared sync bytes', () => {
  it('50 clients with one filter get the same serialized sync, selected once', () => {
    const { core, hub } = hubWith(2000, { windowRows: 100 });
    const select = vi.spyOn(core.store, 'select');
    const sockets = Array.from({ length: 50 }, () => new FakeSocket(true));
    for (const [i, s] of sockets.entries()) attach(hub, s, { address: `10.0.0.${i}` });
    expect(select).toHaveBeenCalledTimes(1);
    const first = sockets[0]!.sent[1]!;
    for (const s of sockets) {
      expect(s.types()).toEqual(['hello', 'sync']);
      expect(s.sent[1]).toBe(first);
    }
    const sync = sockets[0]!.messages()[1]!;
    expect(sync.type === 'sync' && [sync.flows.length, sync.total, sync.truncated]).toEqual([
      100,
      2000,
      true,
    ]);
    expect(sync.type === 'sync' && sync.counts.live).toBe(2000);
  });

  it('paces syncs under the global byte budget; the rest follow on later ticks', async () => {
    const { hub } = hubWith(2000, { windowRows: 100 });
    const probe = new FakeSocket(true);
    attach(hub, probe);
    const syncSize = probe.sent[1]!.length;
    const paced = new WsHub((hub as unknown as { engine: never }).engine, {
      windowRows: 100,
      syncBytesPerSecond: syncSize * 3,
    });
    const sockets = Array.from({ length: 10 }, () => new FakeSocket(true));
    for (const [i, s] of sockets.entries()) attach(paced, s, { address: `10.0.1.${i}` });
    const synced = () => sockets.filter((s) => s.types().includes('sync')).length;
    expect(synced()).toBeLessThanOrEqual(4);
    expect(paced.stats().pacedQueue).toBeGreaterThan(0);
    for (let i = 0; i < 40 && synced() < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      paced.tick();
    }
    expect(synced()).toBe(10);
  });
});

describe('window and ranges', () => {
  it('sends the window, deltas only for it, and other rows on demand', () => {
    const { core, hub } = hubWith(50, { windowRows: 10 });
    const ws = new FakeSocket(true);
    attach(hub, ws);
    const sync = ws.messages()[1]!;
    expect(sync.type === 'sync' && sync.flows.map((f) => f.id)).toEqual(
      Array.from({ length: 10 }, (_, i) => String(i + 1)),
    );
    // A new healthy flow ranks after the window (first seen last): no row for it, only the total changes.
    core.onEventLine(line(51), Date.now() + 1000);
    hub.tick();
    const d = ws.messages().at(-1)!;
    expect(d.type).toBe('delta');
    expect(d.type === 'delta' && d.upserts).toEqual([]);
    ws.say({ type: 'range', id: 3, offset: 45, limit: 10 });
    const rows = ws.messages().at(-1)!;
    expect(rows.type === 'rows' && [rows.id, rows.offset, rows.total, rows.flows.map((f) => f.id)]).toEqual([
      3,
      45,
      51,
      ['46', '47', '48', '49', '50', '51'],
    ]);
  });

  it('refuses a range beyond the limit with an error', () => {
    const { hub } = hubWith(5, { maxRangeRows: 100 });
    const ws = new FakeSocket(true);
    attach(hub, ws);
    ws.say({ type: 'range', id: 1, offset: 0, limit: 101 });
    expect(ws.types().at(-1)).toBe('error');
  });
});

describe('per-client budget', () => {
  it('a client that does not read is cut off once its replies pass the budget, and never holds more', () => {
    const budget = 64 * 1024;
    const { hub } = hubWith(100, { clientBudgetBytes: budget, maxMessagesPerSecond: 1e9 });
    const ws = new FakeSocket(false);
    attach(hub, ws);
    const junk = `{"type":"${'x'.repeat(8000)}"}`;
    for (let i = 0; i < 10_000 && !ws.closed; i++) ws.say(i % 2 ? junk : { type: 'ping' });
    expect(ws.closed).toEqual({ code: 1008, reason: 'too much queued: the client is not reading' });
    expect(ws.bufferedAmount).toBeLessThanOrEqual(budget);
    expect(hub.stats().cutOff).toBe(1);
    // Nothing of the junk came back.
    for (const b of ws.sent) expect(b.toString()).not.toContain('xxxx');
  });

  it('a stalled client skips deltas and gets one fresh sync after it drains', () => {
    const { core, hub } = hubWith(100, { clientBudgetBytes: 8 * 1024, windowRows: 10 });
    const ws = new FakeSocket(false);
    attach(hub, ws);
    for (let i = 0; i < 50; i++) {
      core.onEventLine(line(200 + i).replace('[NEW]', '[NEW]'), Date.now());
      core.onCounters({ at: Date.now(), count: i, max: 1000, stats: {} });
      hub.tick();
    }
    expect(ws.bufferedAmount).toBeLessThanOrEqual(8 * 1024);
    const before = ws.sent.length;
    ws.bufferedAmount = 0; // it read everything
    hub.tick();
    core.onCounters({ at: Date.now(), count: 1, max: 1000, stats: {} });
    hub.tick();
    expect(ws.types().slice(before)).toContain('sync');
  });

  it('a message flood is cut off', () => {
    const { hub } = hubWith(1, { maxMessagesPerSecond: 20 });
    const ws = new FakeSocket(true);
    attach(hub, ws);
    for (let i = 0; i < 100 && !ws.closed; i++) ws.say({ type: 'ping' });
    expect(ws.closed?.code).toBe(1008);
    expect(ws.closed?.reason).toContain('messages a second');
    expect(ws.types().filter((t) => t === 'pong').length).toBeLessThanOrEqual(21);
  });
});

describe('heartbeat', () => {
  it('drops a peer that does not answer pings and keeps one that does', () => {
    const { hub } = hubWith(1);
    const dead = new FakeSocket(true);
    const live = new FakeSocket(true);
    attach(hub, dead);
    attach(hub, live, { address: '10.0.0.2' });
    hub.heartbeatNow();
    live.emit('pong');
    hub.heartbeatNow();
    expect(dead.terminated).toBe(true);
    expect(live.terminated).toBe(false);
    expect(hub.stats()).toMatchObject({ clients: 1, dead: 1 });
  });
});

describe('connection caps over real sockets', () => {
  const apps: Array<{ close: () => Promise<unknown> }> = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });

  function connect(url: string, localAddress: string): Promise<{ ws: WebSocket; outcome: Promise<string> }> {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { localAddress });
    const outcome = new Promise<string>((resolve) => {
      ws.on('message', (d) => {
        if (JSON.parse(String(d)).type === 'sync') resolve('synced');
      });
      ws.on('close', (code, reason) => resolve(`closed ${code} ${String(reason)}`));
      ws.on('error', () => undefined);
    });
    return new Promise((resolve) => ws.once('open', () => resolve({ ws, outcome })));
  }

  it('refuses past the per-address and total caps with a clear close reason', async () => {
    const app = Fastify();
    const hub = await buildApp(app, {
      engine: coreOnlyEngine(new EngineCore()),
      hub: { maxClients: 4, maxClientsPerAddress: 2 },
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    apps.push(app);
    const a = await Promise.all([1, 2, 3].map(() => connect(url, '127.0.0.2')));
    const outA = await Promise.all(a.map((c) => c.outcome));
    expect(outA.filter((o) => o === 'synced')).toHaveLength(2);
    expect(outA.find((o) => o !== 'synced')).toMatch(/^closed 1013 too many connections from .*127\.0\.0\.2/);
    const b = await Promise.all([3, 4, 5].map((n) => connect(url, `127.0.0.${n}`)));
    const outB = await Promise.all(b.map((c) => c.outcome));
    expect(outB.filter((o) => o === 'synced')).toHaveLength(2);
    expect(outB.find((o) => o !== 'synced')).toMatch(/^closed 1013 server busy/);
    expect(hub.stats()).toMatchObject({ clients: 4, refused: 2 });
    for (const c of [...a, ...b]) c.ws.terminate();
  });
});
