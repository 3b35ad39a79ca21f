// Benchmark: parse + classify >= 1M conntrack -E lines shaped like the captures, against a naive regex+split
// parser measured in the same run. Prints lines/s (median of RUNS) and the ratio. Run with `npm run bench`.
import { readFileSync } from 'node:fs';
import { classifyFlow, parseConntrackLine } from '@ctscope/shared';
import { benchNat } from './bench-nat.mjs';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/** Deterministic PRNG so every run sees the same corpus. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Corpus: `-o timestamp,extended,id` events like flood-sample.txt, to a VIP (DNATed or not) and elsewhere. */
function makeCorpus(n) {
  const rnd = prng(42);
  const lines = new Array(n);
  let ts = 1795689939.618129;
  for (let i = 0; i < n; i++) {
    ts += 0.000006;
    const sport = 1024 + Math.floor(rnd() * 60000);
    const id = Math.floor(rnd() * 4294967295);
    const pick = rnd();
    const [dst, dport, rsrc, rsport] =
      pick < 0.5
        ? ['10.43.0.10', 53, rnd() < 0.5 ? '10.42.0.5' : '10.42.0.6', 53]
        : pick < 0.55
          ? ['10.43.0.10', 53, '10.43.0.10', 53]
          : ['172.20.112.1', 1024 + (i % 4000), '172.20.112.1', 1024 + (i % 4000)];
    const ev = rnd();
    const stamp = `[${ts.toFixed(6)}]\t`;
    if (ev < 0.45) {
      lines[i] =
        `${stamp}    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=${dst} sport=${sport} dport=${dport} [UNREPLIED] src=${rsrc} dst=172.20.112.199 sport=${rsport} dport=${sport} id=${id}`;
    } else if (ev < 0.75) {
      lines[i] =
        `${stamp} [UPDATE] ipv4     2 udp      17 30 src=10.42.0.33 dst=${dst} sport=${sport} dport=${dport} src=${rsrc} dst=10.42.0.33 sport=${rsport} dport=${sport} id=${id}`;
    } else {
      lines[i] =
        `${stamp}[DESTROY] ipv4     2 udp      17 src=10.42.0.33 dst=${dst} sport=${sport} dport=${dport} src=${rsrc} dst=10.42.0.33 sport=${rsport} dport=${sport} [ASSURED] id=${id} [USERSPACE] portid=2476699638`;
    }
  }
  return lines;
}

/** The naive baseline: split on whitespace, regex each key=value, first/second src= by position. */
function naiveParse(line) {
  const tokens = line.trim().split(/\s+/);
  const out = { orig: {}, reply: {}, flags: [] };
  let dir = null;
  for (const tok of tokens) {
    const m = /^([a-z_-]+)=(.*)$/.exec(tok);
    if (m) {
      if (m[1] === 'src') dir = dir === null ? out.orig : out.reply;
      if (dir && (m[1] === 'src' || m[1] === 'dst' || m[1] === 'sport' || m[1] === 'dport')) dir[m[1]] = m[2];
      else out[m[1]] = m[2];
    } else if (/^\[[A-Z_]+\]$/.test(tok)) out.flags.push(tok);
  }
  return out;
}

const snapshot = benchNat();

function runOurs(lines) {
  let bad = 0;
  let errors = 0;
  for (let i = 0; i < lines.length; i++) {
    const r = parseConntrackLine(lines[i]);
    if (r.kind !== 'flow') {
      errors++;
      continue;
    }
    if (classifyFlow({ flow: r, currentSnapshot: snapshot }).severity !== 'ok') bad++;
  }
  return { bad, errors };
}

function runOursParseOnly(lines) {
  let flows = 0;
  for (let i = 0; i < lines.length; i++) if (parseConntrackLine(lines[i]).kind === 'flow') flows++;
  return { flows };
}

function runNaive(lines) {
  let n = 0;
  for (let i = 0; i < lines.length; i++) if (naiveParse(lines[i]).orig.src) n++;
  return { n };
}

function measure(name, fn, lines) {
  const rates = [];
  let result;
  for (let r = 0; r < RUNS; r++) {
    globalThis.gc?.();
    const t0 = process.hrtime.bigint();
    result = fn(lines);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(lines.length / s);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  return { name, median, min: rates[0], max: rates[rates.length - 1], result };
}

const fmt = (n) => `${(n / 1e6).toFixed(2)}M lines/s`;
const lines = makeCorpus(LINES);
// Sanity: the corpus must look like the real capture to the parser.
const flood = readFileSync(
  new URL('../shared/test/fixtures/flood-sample.txt', import.meta.url),
  'utf8',
).split('\n');
if (parseConntrackLine(flood[0]).kind !== 'flow' || parseConntrackLine(lines[0]).kind !== 'flow') {
  throw new Error('corpus line does not parse');
}

console.log(`corpus: ${lines.length} lines, ${RUNS} runs each, node ${process.version}`);
measure('warm-up', runOurs, lines.slice(0, 100_000));
measure('warm-up', runNaive, lines.slice(0, 100_000));
const naive = measure('naive regex+split parse (baseline)', runNaive, lines);
const parseOnly = measure('ctscope parse', runOursParseOnly, lines);
const ours = measure('ctscope parse + classify', runOurs, lines);
for (const m of [naive, parseOnly, ours]) {
  console.log(`${m.name.padEnd(36)} median ${fmt(m.median)}  (min ${fmt(m.min)}, max ${fmt(m.max)})`);
}
if (ours.result.errors > 0) throw new Error(`${ours.result.errors} corpus lines failed to parse`);
console.log(`flagged ${ours.result.bad} of ${lines.length} lines as not ok`);
console.log(
  `ratio parse+classify / naive parse: ${(ours.median / naive.median).toFixed(2)}x (target >= 2.5x)`,
);
console.log(`target >= 1,000,000 lines/s parse+classify: ${ours.median >= 1e6 ? 'met' : 'NOT met'}`);
