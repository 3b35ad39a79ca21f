import { appendFile, chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingPlayer } from '@ctscope/shared';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplayEngine } from '../src/engine/replay-engine.js';
import { IndexedRecording } from '../src/recording/indexed-recording.js';
import { type SynthResult, writeSyntheticRecording } from './support/synth-recording.mjs';

/** Everything a client could see at one instant. */
function view(p: RecordingPlayer) {
  const core = p.core;
  return {
    flows: core.store.select(undefined, 1_000_000).flows,
    stats: core.store.stats(),
    nat: core.natView()?.hash ?? null,
    markers: core.markers(),
    loss: core.eventLoss(),
    counters: core.counters() ?? null,
    alerts: core.alerts(),
  };
}

let root: string;
let synth: SynthResult;
const opts = (cacheDir: string) => ({ checkpointRecords: 3000, checkpointMs: 60_000, cacheDir });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pmx-indexed-'));
  synth = await writeSyntheticRecording(join(root, 'gz'), {
    durationMs: 240_000,
    rate: 30,
    gzip: true,
    segmentBytes: 1_500_000,
    gapEveryMs: 70_000,
    dumpEveryMs: 45_000,
    incidents: [{ at: 50_000, durationMs: 20_000, deleteAfterMs: 40_000 }],
  });
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('indexed replay', () => {
  it('indexes every record across gzip segments, with checkpoints and an outline', async () => {
    const rec = await IndexedRecording.open(synth.dir, opts(join(root, 'cache')));
    expect(synth.files.length).toBeGreaterThan(3);
    expect(rec.index.records).toBe(synth.records);
    expect(rec.index.readErrors).toBe(0);
    expect(rec.index.checkpoints.length).toBeGreaterThanOrEqual(Math.floor(synth.records / 3000) - 1);
    expect(rec.index.natChanges).toEqual(synth.truth.natChanges);
    // The first bad flow: an unanswered one (10 s without a reply) before the incident's no-dnat flows.
    expect(rec.index.firstBad).toBeGreaterThanOrEqual(synth.start + 10_000);
    expect(rec.index.firstBad).toBeLessThan(synth.truth.firstBad!);
    expect(rec.index.minutes.map((m) => m.t)).toEqual([0, 1, 2, 3].map((i) => synth.start + i * 60_000));
    expect(rec.index.minutes.reduce((n, m) => n + m.gaps, 0)).toBe(3);
    expect(rec.index.minutes[0]!.bad).toBeGreaterThan(0);
    expect(rec.index.minutes[1]!.newBad).toBeGreaterThan(0);
    expect(rec.index.minutes[2]!.bad).toBeLessThan(rec.index.minutes[0]!.bad);
  }, 120_000);

  it('gives the same state at any instant as a full replay from the start (random seek points)', async () => {
    const rec = await IndexedRecording.open(synth.dir, opts(join(root, 'cache')));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: synth.start - 1000, max: synth.end + 1000 }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (times) => {
          // Reference: one replay from the very start, no checkpoint, advanced through the sorted instants.
          const full = rec.cursorAtStart();
          full.headless = true;
          const expected = new Map<number, ReturnType<typeof view>>();
          for (const t of [...times].sort((a, b) => a - b)) {
            await full.advanceTo(t);
            expected.set(t, view(full.player));
          }
          await full.close();
          for (const t of times) {
            const p = await rec.playerAt(t);
            expect(view(p), `state at ${t - synth.start} ms`).toEqual(expected.get(t));
          }
        },
      ),
      { numRuns: 6 },
    );
  }, 300_000);

  it('seeks backwards and forwards in the replay engine to the same state as a fresh replay', async () => {
    const engine = new ReplayEngine(await IndexedRecording.open(synth.dir, opts(join(root, 'cache'))));
    const rec = engine.recording;
    for (const rel of [200_000, 65_000, 230_000, 10_000]) {
      engine.clock.seek(synth.start + rel);
      await engine.settled();
      const fresh = await rec.playerAt(synth.start + rel);
      expect(engine.core.store.select(undefined, 1_000_000).flows).toEqual(
        fresh.core.store.select(undefined, 1_000_000).flows,
      );
    }
    expect((engine.extraStats().replay as { seeks: number }).seeks).toBeGreaterThan(0);
  }, 120_000);

  it('extends a stale index from its last valid checkpoint when the last segment grows', async () => {
    const dir = join(root, 'growing');
    const s = await writeSyntheticRecording(dir, { durationMs: 90_000, rate: 30, segmentBytes: 400_000 });
    const first = await IndexedRecording.open(dir, opts(join(root, 'cache')));
    expect(first.index.build.resumedFrom).toBeNull();
    const again = await IndexedRecording.open(dir, opts(join(root, 'cache')));
    expect(again.index.build.records).toBe(first.index.build.records);
    const last = s.files.at(-1)!;
    const t = s.end + 5;
    await appendFile(
      join(dir, last),
      `${JSON.stringify({ k: 'gap', t, reason: 'server-stop', detail: 'x' })}\n`,
    );
    const grown = await IndexedRecording.open(dir, opts(join(root, 'cache')));
    expect(grown.index.records).toBe(first.index.records + 1);
    expect(grown.index.build.resumedFrom).not.toBeNull();
    expect(grown.index.build.records).toBeLessThan(first.index.records);
    expect(grown.end).toBe(t);
  }, 120_000);

  it('keeps the index in the cache directory when the recording directory is read-only', async () => {
    if (process.getuid?.() === 0) {
      // Root writes anywhere: check the fallback by making the index directory a file instead.
      const dir = join(root, 'ro');
      await writeSyntheticRecording(dir, { durationMs: 20_000, rate: 10 });
      await appendFile(join(dir, '.ctscope-index'), 'not a directory');
      const rec = await IndexedRecording.open(dir, opts(join(root, 'cache-ro')));
      expect(rec.source.indexDir.startsWith(join(root, 'cache-ro'))).toBe(true);
      expect(await readdir(rec.source.indexDir)).toContain('index.json');
    } else {
      const dir = join(root, 'ro');
      await writeSyntheticRecording(dir, { durationMs: 20_000, rate: 10 });
      await chmod(dir, 0o555);
      const rec = await IndexedRecording.open(dir, opts(join(root, 'cache-ro')));
      expect(rec.source.indexDir.startsWith(join(root, 'cache-ro'))).toBe(true);
      await chmod(dir, 0o755);
    }
  }, 60_000);
});
