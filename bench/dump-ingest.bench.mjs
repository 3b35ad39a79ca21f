// Benchmark: a full dump of a live table after a flood. 250k flows are learnt from NEW events, then a 250k-line
// `conntrack -L` listing of the same entries, in a shuffled order like the kernel's hash order, is ingested as
// serve does it (1,000-line chunks, quiet lines recorded as `listed` readings). Against a baseline measured in
// the same run: the same lines with a trailing tab, which the listing probe leaves to the full parser (the path
// every dump line took before the probe). Prints the median µs per line of each and their ratio.

import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { EngineCore, quietRuns } from '@ctscope/shared';
import { missingStartFlags, V8_FLAGS } from '../server/dist/config.js';
import { benchNat } from './bench-nat.mjs';

// With the V8 settings serve runs with (the bin's NODE_START_FLAGS and V8_FLAGS.live): the heap layout is what
// makes this path slow.
const missing = missingStartFlags();
if (missing.length > 0) {
  const run = spawnSync(process.execPath, [...process.execArgv, ...missing, process.argv[1]], {
    stdio: 'inherit',
  });
  process.exit(run.status ?? 1);
}
for (const flag of V8_FLAGS.live) setFlagsFromString(flag);

const FLOWS = Number(process.env.BENCH_DUMP_FLOWS ?? 250_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CHUNK = 1000;

const ip = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** Deterministic shuffle (the kernel lists entries in hash-bucket order, not creation order). */
function shuffled(items) {
  const out = items.slice();
  let r = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    r = (Math.imul(r, 1103515245) + 12345) >>> 0;
    const j = r % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A core holding FLOWS flood flows (fresh source address and port each, half to a DNATed ClusterIP). */
function floodedCore(t0) {
  const core = new EngineCore({ maxFlows: FLOWS + 10_000 });
  core.onNat(benchNat(), t0 - 1000);
  const flows = [];
  let at = t0;
  for (let i = 0; i < FLOWS; i++) {
    if (i % 500 === 0) at += 10;
    const vip = i % 2 === 0;
    const dst = vip ? '10.43.0.10' : '172.20.112.1';
    const rsrc = vip ? (i % 4 === 0 ? '10.42.0.5' : '10.42.0.6') : dst;
    const f = { src: ip(0x200000 + i), sport: 1024 + (i % 60000), id: (i * 2654435761) >>> 0, dst, rsrc, at };
    flows.push(f);
    core.onEventLine(
      `[${(at / 1000).toFixed(6)}]\t    [NEW] ipv4     2 udp      17 30 src=${f.src} dst=${f.dst} sport=${f.sport} dport=53 [UNREPLIED] src=${f.rsrc} dst=${f.src} sport=53 dport=${f.sport} id=${f.id}`,
      at,
    );
    if (i % 5000 === 0) core.flush(at, 0);
  }
  core.flush(at, 0);
  return { core, flows, end: at };
}

/** One run: a fresh flooded core, then the dump's lines through `variant`; returns µs per line. */
function run(variant) {
  const t0 = Date.now() - 60_000;
  const { core, flows, end } = floodedCore(t0);
  const startedAt = end + 2000;
  const at = startedAt + 800;
  // As the kernel prints them: the timeout counted down from 30 since each flow's NEW, a text split from one
  // output (sliced strings, as the line splitter makes).
  const text = shuffled(flows)
    .map(
      (f) =>
        `ipv4     2 udp      17 ${30 - Math.ceil((startedAt + 400 - f.at) / 1000)} src=${f.src} dst=${f.dst} sport=${f.sport} dport=53 [UNREPLIED] src=${f.rsrc} dst=${f.src} sport=53 dport=${f.sport} mark=0 use=1 id=${f.id}`,
    )
    .map(variant)
    .join('\n');
  const lines = text.split('\n');
  globalThis.gc?.();
  let quiet = 0;
  let recorded = 0;
  const t = performance.now();
  for (let i = 0; i < lines.length; i += CHUNK) {
    const chunk = lines.slice(i, i + CHUNK);
    const readings = new Array(chunk.length);
    core.onDumpLines('full', chunk, at, startedAt, readings);
    for (const r of quietRuns(chunk, readings)) {
      if ('listed' in r) {
        quiet += r.listed.length;
        recorded += JSON.stringify({ k: 'listed', t: at, src: 'dump', flows: r.listed }).length;
      } else recorded += r.lines.length;
    }
  }
  core.onDumpEnd('full', at, startedAt);
  const us = ((performance.now() - t) * 1000) / lines.length;
  const live = core.store.stats().live;
  if (live !== FLOWS || quiet !== FLOWS)
    throw new Error(`dump ingest: live ${live}, quiet ${quiet} of ${FLOWS}`);
  return { us, recorded };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const probe = [];
const parsed = [];
for (let r = 0; r < RUNS; r++) {
  probe.push(run((l) => l).us);
  parsed.push(run((l) => `${l}\t`).us);
}
const p = median(probe);
const b = median(parsed);
console.log(
  `dump ingest (${FLOWS.toLocaleString('en-US')} live flows, a ${FLOWS.toLocaleString('en-US')}-line dump in hash order, median of ${RUNS}): ` +
    `${p.toFixed(2)} µs/line with the listing probe, ${b.toFixed(2)} µs/line through the parser (baseline, same run): ${(b / p).toFixed(2)}× faster ` +
    `(runs: ${probe.map((x) => x.toFixed(2)).join(', ')} against ${parsed.map((x) => x.toFixed(2)).join(', ')})`,
);
