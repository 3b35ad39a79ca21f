import { spawnSync } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { BadAtAnswer, BadDuringAnswer, LifecycleAnswer, RecordingOutline } from '@ctscope/shared';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplayEngine } from '../src/engine/replay-engine.js';
import { buildApp } from '../src/http/app.js';
import { postmortemRoutes } from '../src/http/postmortem-routes.js';
import { exportSlice } from '../src/recording/export-slice.js';
import { IndexedRecording } from '../src/recording/indexed-recording.js';
import {
  badAndNatAt,
  badAt,
  badDuring,
  natChangesAround,
  tupleLifecycle,
} from '../src/recording/postmortem.js';
import { type SynthResult, writeSyntheticRecording } from './support/synth-recording.mjs';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
function ctscope(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let root: string;
let synth: SynthResult;
let rec: IndexedRecording;
// Incident: the DNS rules vanish at +60 s for 20 s; the flows created then stay (kept alive) until deleted at +120 s.
const INCIDENT = { at: 60_000, durationMs: 20_000, deleteAfterMs: 40_000 };
const at = (rel: number) => synth.start + rel;
/**
 * When a kept-alive flow first turns bad: no-dnat needs the service in the current rules, so a flow created
 * while they were gone turns bad when they return; one created just before the removal was seen, at once.
 */
const expectedFirstBad = (b: { at: number }) =>
  b.at < synth.truth.natChanges[0]! ? b.at : Math.max(b.at, synth.truth.natChanges[1]!);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pmx-postmortem-'));
  synth = await writeSyntheticRecording(join(root, 'rec'), {
    durationMs: 180_000,
    rate: 20,
    gzip: true,
    segmentBytes: 1_000_000,
    incidents: [INCIDENT],
  });
  rec = await IndexedRecording.open(synth.dir, {
    checkpointRecords: 4000,
    checkpointMs: 60_000,
    cacheDir: join(root, 'cache'),
  });
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('post-mortem questions', () => {
  const keptIds = () => synth.truth.badFlows.map((b) => String(b.id)).sort();

  // analyze --at answers both with one seek; it must equal the two separate answers (a NAT change before T, after
  // T within the window, both, none).
  it.each([
    ['before the incident', 40_000, 30_000],
    ['the rules gone, their return after T', 65_000, 30_000],
    ['both changes before T', 100_000, 60_000],
    ['no change in the window', 150_000, 10_000],
  ])('badAndNatAt equals badAt + natChangesAround: %s', async (_name, rel, windowMs) => {
    const both = await badAndNatAt(rec, at(rel), windowMs);
    expect(both.bad).toEqual(await badAt(rec, at(rel)));
    expect(both.nat).toEqual(await natChangesAround(rec, at(rel), windowMs));
  });

  it('lists the flows bad at T, worst first, and none once they are deleted', async () => {
    const during = await badAt(rec, at(100_000));
    const kept = during.flows.filter((f) => f.keptAlive);
    expect(kept.map((f) => f.id).sort()).toEqual(keptIds());
    expect(during.flows[0]!.severity).toBe('critical');
    expect(during.flows[0]!.verdict).toBe('no-dnat');
    const critical = async (rel: number) =>
      (await badAt(rec, at(rel))).flows.filter((f) => f.severity === 'critical').length;
    expect(await critical(10_000)).toBe(0);
    expect(await critical(179_000)).toBe(0);
  }, 60_000);

  it('lists the bad flows of a window with when they went bad and how long, ended by the delete', async () => {
    const a = await badDuring(rec, at(50_000), at(170_000));
    const byId = new Map(a.flows.map((i) => [i.flow.id, i]));
    for (const b of synth.truth.badFlows) {
      const i = byId.get(String(b.id));
      expect(i, `flow ${b.id}`).toBeDefined();
      const bad = expectedFirstBad(b);
      expect(i!.since - bad).toBeGreaterThanOrEqual(0);
      expect(i!.since - bad).toBeLessThan(1000);
      expect(i!.until).toBe(at(INCIDENT.at + INCIDENT.durationMs + INCIDENT.deleteAfterMs));
      expect(i!.endedBy).toBe('destroyed');
      expect(i!.durationMs).toBe(i!.until! - i!.since);
    }
    // Worst first: every critical before any warning, and kept-alive criticals first.
    const sev = a.flows.map((i) => i.flow.severity);
    expect(sev.lastIndexOf('critical')).toBeLessThan(
      sev.indexOf('warning') === -1 ? sev.length : sev.indexOf('warning'),
    );
    expect(a.flows[0]!.flow.keptAlive).toBe(true);
    // A window before the incident has no critical flow.
    const early = await badDuring(rec, at(1000), at(40_000));
    expect(early.flows.filter((i) => i.flow.severity === 'critical')).toEqual([]);
  }, 60_000);

  it('says what changed in the NAT rules around T', async () => {
    const n = await natChangesAround(rec, at(70_000), 30_000);
    expect(n.changes.map((c) => c.t)).toEqual(synth.truth.natChanges);
    expect(n.changes[0]!.lines.map((l) => l.text).join(' ')).toMatch(/removed/);
    expect((await natChangesAround(rec, at(150_000), 10_000)).changes).toEqual([]);
  }, 60_000);

  it("follows one tuple's whole lifecycle across segments", async () => {
    const b = synth.truth.badFlows[0]!;
    const one = (await badAt(rec, at(100_000))).flows.find((f) => f.id === String(b.id))!;
    const l = await tupleLifecycle(rec, { src: one.orig.src, sport: one.orig.sport });
    const f = l.flows.find((x) => x.id === String(b.id))!;
    const bad = expectedFirstBad(b);
    expect(f.firstBad).toBeGreaterThanOrEqual(bad);
    expect(f.firstBad! - bad).toBeLessThan(1000);
    expect(f.destroyed).toBe(at(INCIDENT.at + INCIDENT.durationMs + INCIDENT.deleteAfterMs));
    expect(f.steps[0]!.event).toBe('NEW');
    expect(f.steps.at(-1)!.event).toBe('DESTROY');
    expect(f.steps.some((s) => s.keptAlive)).toBe(true);
    expect(f.steps.some((s) => s.event === 'LIST')).toBe(true);
    expect(l.flows.every((x) => x.orig.src === one.orig.src && x.orig.sport === one.orig.sport)).toBe(true);
  }, 60_000);

  it('exports a gzip slice that starts with the state and replays to the same answers', async () => {
    const out = join(root, 'slice.ndjson.gz');
    const r = await exportSlice(rec, at(70_000), at(110_000), out, 'test');
    expect(r.records).toBeGreaterThan(2);
    const fh = await open(out, 'r');
    const magic = Buffer.alloc(2);
    await fh.read(magic, 0, 2, 0);
    await fh.close();
    expect([...magic]).toEqual([0x1f, 0x8b]);
    // The state holds flows and their verdicts once, without the store's running-count copy of each verdict.
    const stateLine = gunzipSync(await readFile(out))
      .toString('utf8')
      .split('\n')[1]!;
    expect(stateLine.startsWith('{"k":"state"')).toBe(true);
    expect(stateLine).toContain('"verdict"');
    expect(stateLine).not.toContain('"counted"');
    const slice = await IndexedRecording.open(out, {
      checkpointRecords: 1e9,
      checkpointMs: 1e12,
      cacheDir: join(root, 'c2'),
    });
    for (const rel of [70_000, 85_000, 100_000, 110_000]) {
      expect((await badAt(slice, at(rel))).flows, `at +${rel}`).toEqual((await badAt(rec, at(rel))).flows);
    }
  }, 60_000);
});

describe('ctscope analyze --recording / export (built CLI)', () => {
  it('exits 1 with the critical flows at T, 0 when there are none, 2 on bad input', () => {
    const bad = ctscope(
      'analyze',
      '--recording',
      synth.dir,
      '--at',
      new Date(at(100_000)).toISOString(),
      '--json',
    );
    expect(bad.code).toBe(1);
    const a = JSON.parse(bad.out) as BadAtAnswer & { nat: unknown };
    expect(a.flows.filter((f) => f.keptAlive)).toHaveLength(synth.truth.badFlows.length);
    const quiet = ctscope('analyze', '--recording', synth.dir, '--at', String(at(20_000)));
    expect(quiet.code).toBe(0);
    expect(quiet.out).toContain('0 critical');
    const win = ctscope(
      'analyze',
      '--recording',
      synth.dir,
      '--from',
      String(at(50_000)),
      '--to',
      String(at(170_000)),
      '--json',
    );
    expect(win.code).toBe(1);
    expect((JSON.parse(win.out) as BadDuringAnswer).total).toBeGreaterThanOrEqual(
      synth.truth.badFlows.length,
    );
    expect(ctscope('analyze', '--recording', synth.dir, '--at', 'yesterday').code).toBe(2);
    expect(ctscope('analyze', '--recording', synth.dir, '--at', '2001-01-01T00:00:00Z').err).toMatch(
      /outside the recording/,
    );
    expect(ctscope('analyze', '--recording', synth.dir).code).toBe(2);
    expect(ctscope('analyze', '--recording', join(root, 'nope'), '--at', String(at(1))).code).toBe(2);
    const t = ctscope(
      'analyze',
      '--recording',
      synth.dir,
      '--tuple',
      '10.42.1.1:1280->10.43.0.10:53',
      '--json',
    );
    expect([0, 1]).toContain(t.code);
    expect((JSON.parse(t.out) as LifecycleAnswer).flows.length).toBeGreaterThan(0);
    const out = join(root, 'cli-slice.ndjson.gz');
    const e = ctscope(
      'export',
      '--recording',
      synth.dir,
      '--from',
      String(at(60_000)),
      '--to',
      String(at(90_000)),
      '-o',
      out,
    );
    expect(e.code).toBe(0);
    expect(ctscope('analyze', '--recording', out, '--at', String(at(90_000))).code).toBe(1);
    expect(
      ctscope(
        'export',
        '--recording',
        synth.dir,
        '--from',
        String(at(90_000)),
        '--to',
        String(at(60_000)),
        '-o',
        out,
      ).code,
    ).toBe(2);
  }, 180_000);
});

describe('post-mortem API', () => {
  it('serves the outline and the answers, and refuses bad queries', async () => {
    const engine = new ReplayEngine(rec);
    const app = Fastify();
    await buildApp(app, { engine, extraRoutes: postmortemRoutes(engine) });
    await app.ready();
    try {
      const o = (await app.inject({ url: '/api/replay/index' })).json() as RecordingOutline;
      expect(o.start).toBe(rec.start);
      expect(o.natChanges).toEqual(synth.truth.natChanges);
      expect(o.firstBad).not.toBeNull();
      expect(o.minutes.length).toBe(3);
      const b = await app.inject({ url: `/api/postmortem/bad?at=${at(100_000)}` });
      expect(b.statusCode).toBe(200);
      expect((b.json() as BadAtAnswer).flows[0]!.severity).toBe('critical');
      const w = await app.inject({ url: `/api/postmortem/bad?from=${at(50_000)}&to=${at(170_000)}&limit=5` });
      expect((w.json() as BadDuringAnswer).flows).toHaveLength(5);
      expect(
        (await app.inject({ url: `/api/postmortem/nat-changes?at=${at(70_000)}&window=30000` })).json()
          .changes,
      ).toHaveLength(2);
      expect(
        (await app.inject({ url: '/api/postmortem/lifecycle?src=10.42.1.1&sport=1280' })).statusCode,
      ).toBe(200);
      expect((await app.inject({ url: '/api/postmortem/bad' })).statusCode).toBe(400);
      expect((await app.inject({ url: `/api/postmortem/bad?at=1&from=2&to=3` })).statusCode).toBe(400);
      expect((await app.inject({ url: `/api/postmortem/bad?from=${at(9)}&to=${at(1)}` })).statusCode).toBe(
        400,
      );
      expect((await app.inject({ url: '/api/postmortem/lifecycle' })).statusCode).toBe(400);
      expect((await app.inject({ url: '/api/postmortem/lifecycle?src=;rm' })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  }, 60_000);
});
