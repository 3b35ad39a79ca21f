import { EngineCore } from '@ctscope/shared';
import { benchNat } from '/work/main/bench/bench-nat.mjs';

const N = 250_000;
function line(i, ts, ev) {
  const src = `10.42.${(i >> 16) & 255}.${(i >> 8) & 255}`;
  const sport = 1024 + ((i & 0xffff) % 60000);
  const reply = i % 20 === 0 ? ['10.43.0.10', 53] : [i % 2 ? '10.42.0.5' : '10.42.0.6', 53];
  const pre = ev ? `[${ts.toFixed(6)}]\t    [NEW] ` : '';
  return `${pre}ipv4     2 udp      17 ${ev ? 30 : 25} src=${src} dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=${reply[0]} dst=${src} sport=${reply[1]} dport=${sport} mark=0 use=1 id=${i + 1}`;
}
const core = new EngineCore({ maxFlows: 300_000 });
const t0 = Date.now();
core.onNat(benchNat(), t0);
for (let i = 0; i < N; i++) if (i % 250 !== 7) core.onEventLine(line(i, t0 / 1000, true), t0);
core.flush(t0);
const dump = [];
for (let i = 0; i < N; i++) dump.push(line(i, 0, false));
globalThis.gc?.();
for (let rep = 0; rep < 3; rep++) {
  const at = t0 + 5000 + rep * 5000;
  const a = performance.now();
  core.onDump('full', dump, at, at - 2000);
  const b = performance.now();
  core.flush(at);
  const c = performance.now();
  console.log(
    `dump ${rep}: ingest ${(b - a).toFixed(0)} ms, flush ${(c - b).toFixed(0)} ms, live ${core.store.stats?.().live ?? ''}`,
  );
}
