// Benchmark for the live agent's budgets (issue 3): throughput through parse → store → one WebSocket client,
// RSS with 250k tracked flows, and steady CPU at 5k events/s with 250k flows (suspect selection included).
// Each figure is printed beside a baseline measured in the same run. Run with `npm run bench`.
import { EngineCore } from '@ctscope/shared';
import Fastify from 'fastify';
import WebSocket from 'ws';
import { coreOnlyEngine } from '../server/dist/engine/engine.js';
import { buildApp } from '../server/dist/http/app.js';
import { benchNat } from './bench-nat.mjs';

const FLOWS = Number(process.env.BENCH_FLOWS ?? 250_000);
const THROUGHPUT_LINES = Number(process.env.BENCH_TP_LINES ?? 500_000);

const nat = benchNat();

/** Flow i: 1/20 never DNATed, the rest to a live endpoint; unique tuple and id. */
function newLine(i, ts) {
  const src = `10.42.${(i >> 16) & 255}.${(i >> 8) & 255}`;
  const sport = 1024 + ((i & 0xffff) % 60000);
  const reply = i % 20 === 0 ? ['10.43.0.10', 53] : [i % 2 ? '10.42.0.5' : '10.42.0.6', 53];
  return `[${ts.toFixed(6)}]\t    [NEW] ipv4     2 udp      17 30 src=${src} dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=${reply[0]} dst=${src} sport=${reply[1]} dport=${sport} id=${i + 1}`;
}
function updateLine(i, ts) {
  return newLine(i, ts).replace('    [NEW]', ' [UPDATE]').replace(' [UNREPLIED]', '');
}

const mb = (b) => `${(b / 1048576).toFixed(0)} MB`;
const gc = () => globalThis.gc?.();

function makeEngine(maxFlows = FLOWS + 10_000) {
  const core = new EngineCore({ maxFlows });
  core.onNat(nat, Date.now());
  const engine = coreOnlyEngine(core, 'bench');
  return { core, engine };
}

// 1. Memory: RSS with FLOWS tracked flows, vs the same process before filling.
gc();
const rssBase = process.memoryUsage().rss;
let mem = makeEngine();
const t0 = Date.now();
for (let i = 0; i < FLOWS; i++) mem.core.onEventLine(newLine(i, t0 / 1000), t0);
mem.core.flush(t0);
gc();
const rssFull = process.memoryUsage().rss;
const heapFull = process.memoryUsage().heapUsed;
console.log(
  `memory: ${FLOWS} flows tracked: RSS ${mb(rssFull)}, heap used ${mb(heapFull)} (baseline before filling: RSS ${mb(rssBase)}; ${(heapFull / FLOWS) | 0} B heap per flow) — budget <= 300 MB RSS`,
);

// 2. Steady CPU at 5k events/s with FLOWS flows, hub ticks at 10/s and suspect selection every 2 s.
async function steady(rate, seconds) {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let sent = 0;
  const start = Date.now();
  const ticker = setInterval(() => mem.core.flush(Date.now()), 100);
  const susp = setInterval(() => mem.core.store.suspects(), 2000);
  await new Promise((resolve) => {
    const step = setInterval(() => {
      const due = Math.floor(((Date.now() - start) / 1000) * rate);
      const now = Date.now();
      for (; sent < due; sent++) mem.core.onEventLine(updateLine(sent % FLOWS, now / 1000), now);
      if (Date.now() - start >= seconds * 1000) {
        clearInterval(step);
        resolve();
      }
    }, 10);
  });
  clearInterval(ticker);
  clearInterval(susp);
  const c = process.cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  return { pct: ((c.user + c.system) / 1000 / wall) * 100, sent };
}
const idle = await steady(0, 5);
const busy = await steady(5000, 10);
gc();
console.log(
  `memory after 15 s steady state: RSS ${mb(process.memoryUsage().rss)}, heap used ${mb(process.memoryUsage().heapUsed)}`,
);
console.log(
  `steady CPU with ${FLOWS} flows: ${busy.pct.toFixed(1)}% of one core at 5k events/s (${busy.sent} events) vs idle baseline ${idle.pct.toFixed(1)}% — budget <= 25%`,
);

// Release the 250k-flow table so its heap does not tax the throughput runs' GC.
mem = undefined;
gc();

// 3. Throughput: THROUGHPUT_LINES NEW events through parse → store → one WebSocket client over a real port.
// A flood of new flows overflows the per-batch cap, so the client converges through bounded syncs.
async function throughput(withClient) {
  const { core, engine } = makeEngine(THROUGHPUT_LINES + 10_000);
  const app = Fastify();
  const hub = await buildApp(app, { engine, hub: { windowRows: 1000 } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  hub.start();
  let lastSeq = -1;
  let messages = 0;
  let ws;
  if (withClient) {
    ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      messages++;
      if (m.type === 'sync' || m.type === 'delta') lastSeq = m.seq;
    });
    await new Promise((r) => ws.once('open', r));
  }
  const start = performance.now();
  const now = Date.now();
  // Feed in slices so the event loop (hub ticks, socket writes) runs in between, as with a real pipe.
  for (let i = 0; i < THROUGHPUT_LINES; ) {
    const end = Math.min(THROUGHPUT_LINES, i + 2000);
    for (; i < end; i++) core.onEventLine(newLine(i, now / 1000), now);
    await new Promise((r) => setImmediate(r));
  }
  const ingestMs = performance.now() - start;
  let caughtUpMs;
  if (withClient) {
    const deadline = Date.now() + 30_000;
    // Caught up: the client holds the state of the latest batch.
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      if (hub.stats().seq > 0 && lastSeq === hub.stats().seq && core.store.stats().flows === THROUGHPUT_LINES)
        break;
    }
    caughtUpMs = performance.now() - start;
  }
  const stored = core.store.stats().flows;
  ws?.terminate();
  await app.close();
  return {
    rate: THROUGHPUT_LINES / (ingestMs / 1000),
    caughtUpMs,
    stored,
    messages,
    resyncs: hub.stats().resyncs,
  };
}
// The first pass warms the JIT; measuring it would flatter whichever variant runs second.
await throughput(false);
const base = await throughput(false);
const full = await throughput(true);
console.log(
  `throughput: parse → store ${(base.rate / 1000).toFixed(0)}k events/s (baseline, no client); parse → store with 1 WebSocket client ${(full.rate / 1000).toFixed(0)}k events/s (ratio ${(full.rate / base.rate).toFixed(2)}) — budget >= 100k/s`,
);
console.log(
  `no loss inside ctscope: stored ${full.stored}/${THROUGHPUT_LINES}; client caught up ${(full.caughtUpMs - (THROUGHPUT_LINES / full.rate) * 1000) | 0} ms after the last line (${full.messages} messages)`,
);
