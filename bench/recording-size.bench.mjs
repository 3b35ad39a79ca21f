// Recording size (issue 10): how long the default retention holds at 1k new DNS flows/s. A simulated node
// (random 32-bit ids and client ports, 200 client pods, 4 CoreDNS endpoints; NEW, UPDATE on the reply, DESTROY
// 30 s later; a full dump every 5 min; counters every 2 s) goes through the real RecordingWriter twice in the
// same run, gzip (serve's default) and plain (the baseline). Prints bytes per flow and the hours the default
// `--retention-bytes` holds. BENCH_REC_MINUTES (default 10) and BENCH_REC_RATE (default 1000) set the size;
// BENCH_REC_KEEP=1 keeps the segments.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultServeConfig, RECORDING_SEGMENT_BYTES } from '../server/dist/config.js';
import { RecordingWriter } from '../server/dist/recording/recording-writer.js';
import { benchNat } from './bench-nat.mjs';

const MINUTES = Number(process.env.BENCH_REC_MINUTES ?? 10);
const RATE = Number(process.env.BENCH_REC_RATE ?? 1000);
const START = Date.UTC(2026, 10, 1);
const ENDPOINTS = ['10.42.3.17', '10.42.7.9', '10.42.11.4', '10.42.12.30'];
const SERVICES = [
  ['10.43.0.10', 53],
  ['10.43.0.10', 53],
  ['10.43.0.10', 53],
  ['10.43.118.2', 8125],
];

/** Deterministic PRNG (mulberry32) so both runs record the same node. */
function rng(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ts = (t) => `[${(t / 1000).toFixed(6)}]\t`;
function body(f, timeout, replied, assured) {
  const o = `src=${f.src} dst=${f.vip} sport=${f.sport} dport=${f.dport}`;
  const r = `src=${f.ep} dst=${f.src} sport=${f.dport} dport=${f.sport}`;
  return `udp      17 ${timeout} ${o} ${replied ? '' : '[UNREPLIED] '}${r} ${assured ? '[ASSURED] ' : ''}`;
}

async function run(gzip) {
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-recsize-'));
  let clock = START;
  const w = new RecordingWriter({
    dir,
    node: 'bench',
    writer: 'bench',
    maxAgeMs: Number.POSITIVE_INFINITY,
    maxBytes: Number.POSITIVE_INFINITY,
    gzip,
    segmentBytes: RECORDING_SEGMENT_BYTES[gzip ? 'gzip' : 'plain'],
    now: () => clock,
  });
  await w.open();
  const rand = rng(42);
  const line = (t, src, text) => w.append({ k: 'line', t, src, line: text });
  w.append({ k: 'nat', t: START, snapshot: benchNat() });
  const live = new Map();
  const destroyAt = [];
  let flows = 0;
  let carry = 0;
  const endMs = START + MINUTES * 60_000;
  const t0 = performance.now();
  for (let t = START; t < endMs; t += 10) {
    clock = t;
    carry += RATE / 100;
    for (; carry >= 1; carry--) {
      const [vip, dport] = SERVICES[Math.floor(rand() * SERVICES.length)];
      const f = {
        id: Math.floor(rand() * 4294967295),
        src: `10.42.${Math.floor(rand() * 20)}.${2 + Math.floor(rand() * 10)}`,
        sport: 32768 + Math.floor(rand() * 28232),
        vip,
        dport,
        ep: ENDPOINTS[Math.floor(rand() * ENDPOINTS.length)],
      };
      const at = t + rand() * 10;
      line(Math.floor(at), 'events', `${ts(at)}    [NEW] ipv4     2 ${body(f, 30, false, false)}id=${f.id}`);
      const up = at + 0.3 + rand() * 5;
      line(Math.floor(up), 'events', `${ts(up)} [UPDATE] ipv4     2 ${body(f, 30, true, false)}id=${f.id}`);
      live.set(f.id, f);
      destroyAt.push([up + 30_000 + rand() * 1000, f]);
      flows++;
    }
    while (destroyAt.length && destroyAt[0][0] <= t) {
      const [d, f] = destroyAt.shift();
      live.delete(f.id);
      line(Math.floor(d), 'events', `${ts(d)}[DESTROY] ipv4     2 ${body(f, 0, true, false)}id=${f.id}`);
    }
    if ((t - START) % 2000 === 0)
      w.append({ k: 'counters', t, count: live.size, max: 262144, stats: { drop: 0, insert_failed: 0 } });
    if ((t - START) % 300_000 === 0 && t > START) {
      w.append({ k: 'dump', t, phase: 'begin', scope: 'full' });
      for (const f of live.values())
        line(
          t,
          'dump',
          `ipv4     2 ${body(f, 1 + Math.floor(rand() * 29), true, false)}mark=0 use=1 id=${f.id}`,
        );
      w.append({ k: 'dump', t, phase: 'end', scope: 'full' });
    }
    if ((t - START) % 1000 === 0) await w.flush();
  }
  await w.close();
  const st = w.state();
  const bytes = readdirSync(dir).reduce((s, n) => s + statSync(join(dir, n)).size, 0);
  if (process.env.BENCH_REC_KEEP) console.log(`  kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return { flows, bytes, raw: st.rawBytes, dropped: st.dropped, s: (performance.now() - t0) / 1000 };
}

const retention = defaultServeConfig().retentionBytes;
const plain = await run(false);
const gz = await run(true);
const perFlow = (r) => r.bytes / r.flows;
const hours = (r) => retention / (perFlow(r) * RATE) / 3600;
console.log(
  `recording size: ${MINUTES} min simulated at ${RATE} new DNS flows/s (${gz.flows} flows, NEW + UPDATE + DESTROY, full dump every 5 min)`,
);
console.log(
  '| segments | bytes/flow | default retention (%s GiB) holds | written in | dropped |',
  retention / 2 ** 30,
);
console.log('|---|---|---|---|---|');
for (const [name, r] of [
  ['plain (baseline)', plain],
  ['gzip (default)', gz],
]) {
  console.log(
    `| ${name} | ${perFlow(r).toFixed(1)} | ${hours(r).toFixed(1)} h at ${RATE}/s | ${r.s.toFixed(1)} s | ${r.dropped} |`,
  );
}
console.log(
  `ratio plain/gzip ${(plain.bytes / gz.bytes).toFixed(1)}×; budget: the default retention holds ≥ 24 h at 1k/s: ${hours(gz) >= 24 ? 'met' : 'NOT met'}`,
);
