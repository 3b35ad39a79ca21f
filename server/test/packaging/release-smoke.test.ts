/** Builds the release tree with scripts/release-build.sh into a clean directory and runs `ctscope serve` from it, away from the repository. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, exec, ROOT } from './clean-shell.js';

const SCRIPT = join(ROOT, 'scripts', 'release-build.sh');
/** `npm ci` of the production dependencies: ~5-15 s with a warm npm cache on the 2-core CI machine, far more without. */
const BUILD_TIMEOUT_MS = 180_000;

describe('the release tree (scripts/release-build.sh)', () => {
  let tmp: string;
  let out: string;
  let buildMs = 0;
  let server: ChildProcess | undefined;
  let url = '';
  let log = '';

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ctscope-release-'));
    out = join(tmp, 'release');
    const started = Date.now();
    const r = await exec(SCRIPT, [out], { cwd: tmp, env: cleanEnv(), timeoutMs: BUILD_TIMEOUT_MS });
    buildMs = Date.now() - started;
    if (r.code !== 0) throw new Error(`release-build.sh exited ${r.code}:\n${r.out}`);

    // As the image's entrypoint starts it: the bin, whose shebang gives node its start flags.
    server = spawn(
      join(out, 'server', 'bin', 'ctscope.js'),
      ['serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', join(tmp, 'data'), '--skip-preflight'],
      // Its own process group: the cleanup takes its `conntrack -E` with it even if it must be killed.
      { cwd: out, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ctscope serve did not start:\n${log}`)), 20_000);
      const onData = (d: Buffer) => {
        log += d;
        const m = /listening on (http:\/\/\S+)/.exec(log);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      server?.stdout?.on('data', onData);
      server?.stderr?.on('data', onData);
      server?.on('exit', (code) => reject(new Error(`ctscope serve exited ${code}:\n${log}`)));
    });
  }, BUILD_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    // Whatever is left of the group (a killed server's conntrack child would outlive it on the host).
    if (server?.pid !== undefined) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // The group is gone.
      }
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('holds the dists and production dependencies only, all inside the tree', () => {
    console.log(`release-build.sh took ${(buildMs / 1000).toFixed(1)} s`);
    for (const f of [
      'server/dist/cli.js',
      'shared/dist/index.js',
      'web/dist/index.html',
      'package-lock.json',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    for (const ws of ['shared', 'web'])
      expect(readdirSync(join(out, ws)).sort()).toEqual(['dist', 'package.json']);
    expect(readdirSync(join(out, 'server')).sort()).toEqual(['bin', 'dist', 'package.json']);
    expect(existsSync(join(out, 'node_modules', '.bin', 'ctscope')), 'node_modules/.bin/ctscope').toBe(true);
    const modules = join(out, 'node_modules');
    expect(existsSync(join(modules, 'fastify'))).toBe(true);
    for (const dev of ['vitest', 'typescript', '@biomejs', 'vite', 'kubernetes-models', 'react'])
      expect(existsSync(join(modules, dev)), dev).toBe(false);
    // Workspace links must resolve into the release tree, never back into the repository.
    for (const name of readdirSync(join(modules, '@ctscope'))) {
      const link = join(modules, '@ctscope', name);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(realpathSync(link)).toBe(realpathSync(join(out, name)));
    }
  });

  it('serves the built page at /', async () => {
    const r = await fetch(`${url}/`);
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toContain('<div id="root"></div>');
    expect(html).toBe(readFileSync(join(out, 'web', 'dist', 'index.html'), 'utf8'));
    const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
  });

  it('answers /healthz with a status', async () => {
    const r = await fetch(`${url}/healthz`);
    expect([200, 503]).toContain(r.status);
    const body = (await r.json()) as { status?: string };
    expect(['ok', 'degraded', 'failed']).toContain(body.status);
  });

  it('runs with every start flag, through the bin', async () => {
    const r = await fetch(`${url}/api/stats`);
    expect(r.status).toBe(200);
    const stats = (await r.json()) as { process?: { missingStartFlags?: string[] } };
    expect(stats.process?.missingStartFlags).toEqual([]);
    expect(log).not.toContain('started without');
  });

  it('exports Prometheus metrics', async () => {
    const r = await fetch(`${url}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('ctscope_');
  });
});
