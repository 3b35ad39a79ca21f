import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowReport, ServerMessage, SyncMessage } from '@ctscope/shared';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReplayEngine } from '../src/engine/replay-engine.js';
import { buildApp } from '../src/http/app.js';
import { replayRoutes } from '../src/http/recording-routes.js';
import type { WsHub } from '../src/http/ws-hub.js';
import { IndexedRecording } from '../src/recording/indexed-recording.js';
import { type SynthResult, writeSyntheticRecording } from './support/synth-recording.mjs';

/** Fewer window rows than the recording's flows at its end, so which rows a sync picks matters. */
const WINDOW_ROWS = 40;

let root: string;
let synth: SynthResult;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rpf-seek-sync-'));
  synth = await writeSyntheticRecording(join(root, 'rec'), {
    durationMs: 90_000,
    rate: 20,
    incidents: [{ at: 40_000, durationMs: 15_000, deleteAfterMs: 30_000 }],
  });
}, 60_000);

afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `ctscope replay` as the page sees it: REST clock control, a hub ticked by hand, one WebSocket client. */
async function replayServer() {
  // Checkpoints every 400 records: a seek backwards past one restores it instead of replaying from the start.
  const rec = await IndexedRecording.open(synth.dir, {
    checkpointRecords: 400,
    checkpointMs: 60_000,
    cacheDir: join(root, 'cache'),
  });
  expect(rec.index.checkpoints.length).toBeGreaterThan(2);
  const engine = new ReplayEngine(rec);
  const app = Fastify();
  apps.push(app);
  const hub: WsHub = await buildApp(app, {
    engine,
    hub: { windowRows: WINDOW_ROWS },
    extraRoutes: replayRoutes(engine),
  });
  await app.ready();
  engine.clock.seek(synth.end);
  await engine.settled();
  hub.tick();

  // The client's table, kept as the page's reducer keeps it: a sync replaces it, a delta patches it.
  const table = new Map<string, FlowReport>();
  const messages: ServerMessage[] = [];
  await app.injectWS(
    '/ws',
    {},
    {
      onInit: (s) =>
        s.on('message', (d) => {
          const m = JSON.parse(String(d)) as ServerMessage;
          messages.push(m);
          if (m.type === 'sync') {
            table.clear();
            for (const f of m.flows) table.set(f.id, f);
          } else if (m.type === 'delta') {
            for (const id of m.removals) table.delete(id);
            for (const f of m.upserts) table.set(f.id, f);
          }
        }),
    },
  );
  /** The syncs sent after message `from`, ticking the hub (syncs are paced by its byte budget) until one came. */
  const syncsAfter = async (from: number) => {
    const syncs = () => messages.slice(from).filter((m): m is SyncMessage => m.type === 'sync');
    for (let i = 0; i < 300 && syncs().length === 0; i++) {
      hub.tick();
      await new Promise((r) => setTimeout(r, 10));
    }
    return syncs();
  };
  for (let i = 0; i < 200 && messages.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  const seek = async (t: number) => {
    const r = await app.inject({ method: 'POST', url: '/api/replay', payload: { action: 'seek', t } });
    expect(r.statusCode).toBe(200);
  };
  /** The rows a fresh replay to t would put in a new client's window. */
  const expected = async (t: number) => {
    const fresh = await rec.playerAt(t);
    const { flows } = fresh.core.store.select(undefined, WINDOW_ROWS);
    const all = new Map(fresh.core.store.select(undefined, 1_000_000).flows.map((f) => [f.id, f.verdict]));
    return { ids: flows.map((f) => f.id).sort(), now: fresh.core.store.now, all };
  };
  return { engine, hub, table, messages, syncsAfter, seek, expected };
}

const rows = (table: Map<string, FlowReport>) => [...table.keys()].sort();

describe('ctscope replay: a seek gives the client the table at the target time', () => {
  it.each([
    { name: 'the end, then back to the start (rebuilt from the start)', to: [0] },
    { name: 'back to the middle (restored from a checkpoint)', to: [45_000] },
    { name: 'the start, then forward to the end (streamed, no rebuild)', to: [0, 90_000] },
    { name: 'back and forth several times', to: [45_000, 10_000, 90_000, 20_000] },
  ])(
    '$name',
    async ({ to }) => {
      const s = await replayServer();
      const atEnd = rows(s.table);
      expect(atEnd.length).toBe(WINDOW_ROWS);
      let at = synth.end;
      for (const rel of to) {
        const t = Math.min(synth.end, synth.start + rel);
        const before = s.messages.length;
        await s.seek(t);
        await s.engine.settled();
        s.hub.tick();
        const want = await s.expected(t);
        if (t < at) {
          // A seek back is a new table: a sync of the state at t comes, and it replaces the client's rows.
          const syncs = await s.syncsAfter(before);
          expect(syncs.length).toBeGreaterThanOrEqual(1);
          for (const m of syncs) expect(m.now).toBe(want.now);
          expect(rows(s.table)).toEqual(want.ids);
        }
        // Either way, every row the client holds is a flow of the state at t, with its verdict at t.
        for (const [id, f] of s.table) expect([id, f.verdict]).toEqual([id, want.all.get(id)]);
        at = t;
      }
      if (to.at(-1) === 0) expect(rows(s.table)).not.toEqual(atEnd);
    },
    60_000,
  );

  it('never sends a half-rebuilt table while the hub keeps ticking through a seek', async () => {
    const s = await replayServer();
    // Each one back: a rebuild, from a checkpoint or (the last) from the start.
    for (const rel of [70_000, 45_000, 30_000, 100]) {
      const t = synth.start + rel;
      const before = s.messages.length;
      await s.seek(t);
      let done = false;
      const settled = s.engine.settled().then(() => {
        done = true;
      });
      // The hub's timer, at its fastest: a tick at every turn of the event loop while the state is rebuilt.
      while (!done) {
        s.hub.tick();
        await new Promise((r) => setImmediate(r));
      }
      await settled;
      const want = await s.expected(t);
      const syncs = await s.syncsAfter(before);
      expect(syncs.length).toBeGreaterThanOrEqual(1);
      for (const m of syncs) expect(m.now).toBe(want.now);
      expect(rows(s.table)).toEqual(want.ids);
    }
  }, 60_000);
});
