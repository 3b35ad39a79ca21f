// Post-mortem at scale (issue 11): a synthetic recording of ≥ 2 GB uncompressed-equivalent (gzip on disk),
// replayed through its index — cold index build, first view of the table at the end, seeks, `analyze --at` —
// beside the full-load baseline (the whole recording in memory) in the same run. Each step runs in its own
// process so its peak RSS is its own. The recording is deleted at the end unless BENCH_PM_KEEP=1.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_START_FLAGS } from '../server/dist/config.js';
import { writeBigRecording } from './synth-big-recording.mjs';

const GiB = 1024 ** 3;
const TARGET = Number(process.env.BENCH_PM_BYTES ?? 2.1 * GiB);
/** The baseline loads this much (it needs ~several bytes of RAM per recorded byte; the whole would not fit). */
const BASELINE_BYTES = Number(process.env.BENCH_PM_BASELINE_BYTES ?? 256 * 1024 ** 2);
const ROOT = process.env.BENCH_PM_DIR ?? join(tmpdir(), `ctscope-pm-bench-${process.pid}`);
const CHILD = join(import.meta.dirname, 'postmortem-child.mjs');
const CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli.js');

const mb = (b) => `${(b / 1024 ** 2).toFixed(0)} MB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/**
 * The node flags the `ctscope` bin starts node with (NODE_START_FLAGS), which `replay` and `analyze` run with too;
 * BENCH_PM_NO_START_FLAGS=1 leaves them out, to measure what they cost here.
 */
const START_FLAGS = process.env.BENCH_PM_NO_START_FLAGS ? [] : NODE_START_FLAGS;
const child = (...args) =>
  JSON.parse(
    execFileSync(process.execPath, [...START_FLAGS, CHILD, ...args.map(String)], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    }),
  );
const verdict = (ok) => (ok ? 'met' : 'NOT met');

const dir = join(ROOT, 'recording');
try {
  const g0 = performance.now();
  const r = await writeBigRecording(dir, { targetBytes: TARGET });
  const du = Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  console.log(
    `recording: ${mb(r.bytes)} uncompressed-equivalent (${r.records} records, ${r.flows} flows, ${((r.end - r.start) / 3_600_000).toFixed(1)} h), ${mb(du)} gzip on disk in ${r.files.length} segments; generated in ${((performance.now() - g0) / 1000).toFixed(0)} s`,
  );

  const idx = child('index', dir);
  console.log(
    `index (cold, once per recording): ${(idx.ms / 1000).toFixed(1)} s for ${idx.records} records, ${idx.checkpoints} checkpoints, peak RSS ${idx.peakRssMb} MB`,
  );

  // Seek targets spread over the whole recording (deterministic), the incident among them.
  const seekTimes = [0.13, 0.52, 0.07, 0.91, 0.33, 0.71, 0.45].map((f) =>
    Math.round(r.start + f * (r.end - r.start)),
  );
  seekTimes.push(r.incidentAt + 60_000);
  const rep = child('replay', dir, ...seekTimes);
  const seekMedian = median(rep.seeks);
  console.log(
    `replay: first view of the table at the end ${(rep.firstViewMs / 1000).toFixed(2)} s (${rep.flows} flows) — budget <= 10 s: ${verdict(rep.firstViewMs <= 10_000)}`,
  );
  console.log(
    `replay: seek median ${(seekMedian / 1000).toFixed(2)} s, max ${(Math.max(...rep.seeks) / 1000).toFixed(2)} s over ${rep.seeks.length} seeks — budget <= 2 s: ${verdict(seekMedian <= 2000)}`,
  );
  console.log(`replay: peak RSS ${rep.peakRssMb} MB — budget <= 300 MB: ${verdict(rep.peakRssMb <= 300)}`);

  const a0 = performance.now();
  let code = 0;
  try {
    execFileSync(
      process.execPath,
      [...START_FLAGS, CLI, 'analyze', '--recording', dir, '--at', String(r.incidentAt + 60_000), '--json'],
      {
        maxBuffer: 1 << 26,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (err) {
    code = err.status;
  }
  const analyzeMs = performance.now() - a0;
  console.log(
    `analyze --recording --at (incident): ${(analyzeMs / 1000).toFixed(2)} s, exit ${code} (1 = critical flows found) — budget <= 10 s: ${verdict(analyzeMs <= 10_000 && code === 1)}`,
  );

  // Baseline: the full load of the old replay, on the first segments up to BASELINE_BYTES (uncompressed), and
  // the indexed replay's cold pass per byte for the ratio.
  const base = join(ROOT, 'baseline');
  await mkdir(base, { recursive: true });
  const perSeg = r.bytes / r.files.length;
  const segs = Math.max(1, Math.round(BASELINE_BYTES / perSeg));
  // Copies, not symbolic links: a recording directory's symbolic links are never read (they could point anywhere).
  for (const f of r.files.slice(0, segs)) await copyFile(join(dir, f), join(base, f));
  const full = child('full', base);
  const baseBytes = perSeg * Math.min(segs, r.files.length);
  const factor = r.bytes / baseBytes;
  console.log(
    `baseline (full load, as before): ${mb(baseBytes)} of it took ${(full.firstViewMs / 1000).toFixed(1)} s to the first view and peak RSS ${full.peakRssMb} MB; the whole ${mb(r.bytes)} scales to ~${((full.firstViewMs * factor) / 1000).toFixed(0)} s and ~${((full.peakRssMb * factor) / 1024).toFixed(1)} GB`,
  );
  console.log(
    `ratios vs baseline (same run, whole recording): first view ${((full.firstViewMs * factor) / rep.firstViewMs).toFixed(0)}x faster, peak RSS ${((full.peakRssMb * factor) / rep.peakRssMb).toFixed(0)}x smaller`,
  );
} finally {
  if (process.env.BENCH_PM_KEEP !== '1') await rm(ROOT, { recursive: true, force: true });
}
