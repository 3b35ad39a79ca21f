// One measured step of the post-mortem benchmark, in its own process so its peak RSS is its own; prints JSON.
import { RecordingPlayer } from '@ctscope/shared';
import { applyV8Flags } from '../server/dist/config.js';
import { loadRecording, ReplayEngine } from '../server/dist/engine/replay-engine.js';
import { IndexedRecording } from '../server/dist/recording/indexed-recording.js';

const [mode, dir, ...args] = process.argv.slice(2);
// The V8 settings `ctscope replay` and `analyze --recording` run with, so the figures are what users get.
applyV8Flags('replay');
const peakMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const out = (o) => console.log(JSON.stringify({ ...o, peakRssMb: peakMb() }));

if (mode === 'index') {
  // Cold: build the index (one streaming pass over everything, checkpoints written as it goes).
  const t0 = performance.now();
  const rec = await IndexedRecording.open(dir);
  out({
    ms: Math.round(performance.now() - t0),
    records: rec.index.records,
    checkpoints: rec.index.checkpoints.length,
  });
} else if (mode === 'replay') {
  // What `ctscope replay DIR` does, paused at the end; then seeks to the given times.
  const t0 = performance.now();
  const engine = await ReplayEngine.open(dir);
  engine.clock.seek(engine.clock.state().end);
  await engine.settled();
  const first = engine.core.store.select(undefined, 1000);
  const firstViewMs = Math.round(performance.now() - t0);
  const seeks = [];
  for (const t of args.map(Number)) {
    const s0 = performance.now();
    engine.clock.seek(t);
    await engine.settled();
    engine.core.store.select(undefined, 1000);
    seeks.push(Math.round(performance.now() - s0));
  }
  out({ firstViewMs, flows: first.total, seeks, stats: engine.extraStats().replay });
} else if (mode === 'full') {
  // The baseline: the whole recording loaded into memory and replayed from the start (the old `ctscope replay`).
  const t0 = performance.now();
  const rec = await loadRecording(dir);
  const p = new RecordingPlayer(rec.records);
  p.advanceTo(rec.end);
  const first = p.core.store.select(undefined, 1000);
  out({ firstViewMs: Math.round(performance.now() - t0), records: rec.records.length, flows: first.total });
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
