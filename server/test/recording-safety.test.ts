import { mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineCore } from '@ctscope/shared';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../src/commands/replay.js';
import { coreOnlyEngine } from '../src/engine/engine.js';
import { buildApp } from '../src/http/app.js';
import { recordingRoutes } from '../src/http/recording-routes.js';
import { listRecordings } from '../src/recording/recording-reader.js';
import { RecordingWriter } from '../src/recording/recording-writer.js';

const HEADER = '{"k":"header","t":1700000000000,"v":1,"node":"n","writer":"w"}\n';
const GOOD = 'ctscope-20260101T000000Z-000001.ndjson';
const LINK = 'ctscope-20260101T000000Z-000002.ndjson';
const DIRNAME = 'ctscope-20260101T000000Z-000003.ndjson';

/** A data dir with one good segment, a symlink to a secret under a segment name, and a directory named like one. */
function hostileDataDir(): { dir: string; secret: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-hostile-'));
  const secret = join(mkdtempSync(join(tmpdir(), 'ctscope-secret-')), 'shadow');
  writeFileSync(secret, `${HEADER.replace('"n"', '"SECRET"')}`);
  writeFileSync(join(dir, GOOD), HEADER);
  symlinkSync(secret, join(dir, LINK));
  mkdirSync(join(dir, DIRNAME));
  return { dir, secret };
}

function io() {
  const err: string[] = [];
  return { io: { out: () => undefined, err: (s: string) => err.push(s) }, err };
}

describe('recordings on a hostile data dir', () => {
  it('lists the good segment and reports the symlink and the directory', async () => {
    const { dir } = hostileDataDir();
    const { recordings, skipped } = await listRecordings(dir);
    expect(recordings.map((r) => r.name)).toEqual([GOOD]);
    expect(skipped).toEqual(
      [
        { name: LINK, reason: 'a symbolic link (not followed)' },
        { name: DIRNAME, reason: 'not a regular file' },
      ].sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
  });

  it('never serves a symlink, and the list route still lists the rest', async () => {
    const { dir } = hostileDataDir();
    const app = Fastify();
    await buildApp(app, { engine: coreOnlyEngine(new EngineCore()), extraRoutes: recordingRoutes(dir) });
    const list = await app.inject({ url: '/api/recordings' });
    expect(list.json().recordings.map((r: { name: string }) => r.name)).toEqual([GOOD]);
    expect(list.json().skipped).toHaveLength(2);
    const link = await app.inject({ url: `/api/recordings/${LINK}` });
    expect(link.statusCode).toBe(404);
    expect(link.body).not.toContain('SECRET');
    expect(link.json().message).toContain('symbolic link');
    expect((await app.inject({ url: `/api/recordings/${GOOD}` })).statusCode).toBe(200);
    await app.close();
  });
});

describe('replay', () => {
  it('refuses a token shorter than serve accepts', async () => {
    const { dir } = hostileDataDir();
    const { io: o, err } = io();
    expect(await runReplay({ path: dir, host: '127.0.0.1', port: 0, token: 'abc' }, o)).toBe(2);
    expect(err.join('')).toContain('at least 12 characters');
  });

  it('names the segment file in every error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctscope-badrec-'));
    writeFileSync(join(dir, GOOD), `${HEADER}{"k":"line","t":1700000000001,"src":"events"\n`);
    symlinkSync('/nonexistent', join(dir, LINK));
    const { io: o, err } = io();
    const r = await runReplay({ path: dir, host: '127.0.0.1', port: 0 }, o);
    if (typeof r !== 'number') await r.stop();
    const text = err.join('');
    expect(text).toContain(join(dir, GOOD));
    expect(text).toContain(join(dir, LINK));

    const missing = io();
    expect(await runReplay({ path: join(dir, 'nope.ndjson'), host: '127.0.0.1', port: 0 }, missing.io)).toBe(
      2,
    );
    expect(missing.err.join('')).toContain(join(dir, 'nope.ndjson'));
  });
});

describe('file modes', () => {
  it.each([false, true])('creates recording segments 0600 (gzip %s)', async (gzip) => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ctscope-mode-')), 'data');
    const w = new RecordingWriter({
      dir,
      node: 'n',
      writer: 'test',
      maxAgeMs: 3_600_000,
      maxBytes: 1 << 30,
      gzip,
    });
    await w.open();
    w.append({ k: 'gap', t: Date.now(), reason: 'server-start', detail: 'x' });
    await w.close();
    const files = readdirSync(dir).filter((n) => n.endsWith(gzip ? '.ndjson.gz' : '.ndjson'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  });
});
