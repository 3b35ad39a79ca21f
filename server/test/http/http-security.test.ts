import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineCore } from '@ctscope/shared';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { coreOnlyEngine } from '../../src/engine/engine.js';
import { buildApp } from '../../src/http/app.js';
import { recordingRoutes } from '../../src/http/recording-routes.js';

const TOKEN = 'test-token-0123456789';

async function listen(opts: { token?: string; allowedHosts?: string[]; webRoot?: string; dataDir?: string }) {
  const app = Fastify();
  const engine = coreOnlyEngine(new EngineCore(), 'sec');
  await buildApp(app, {
    engine,
    token: opts.token,
    allowedHosts: opts.allowedHosts,
    webRoot: opts.webRoot,
    extraRoutes: recordingRoutes(opts.dataDir),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, port: Number(new URL(url).port) };
}

/** What a WebSocket with these headers gets: its first message type, a close reason, or an HTTP status. */
function wsOutcome(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers });
    ws.on('message', (d) => {
      resolve(`message:${JSON.parse(String(d)).type}`);
      ws.terminate();
    });
    ws.on('close', (code, reason) => resolve(`close:${code}:${String(reason)}`));
    ws.on('unexpected-response', (_req, res) => {
      resolve(`http:${res.statusCode}`);
      ws.terminate();
    });
    ws.on('error', () => undefined);
  });
}

describe('DNS rebinding: no token means loopback and allowed hosts only', () => {
  let s: { app: FastifyInstance; url: string; port: number };
  const dataDir = mkdtempSync(join(tmpdir(), 'ctscope-sec-'));
  const seg = 'ctscope-20260101T000000Z-000001.ndjson';
  beforeAll(async () => {
    writeFileSync(join(dataDir, seg), '{"k":"header","t":1,"v":1,"node":"n","writer":"w"}\n');
    s = await listen({ allowedHosts: ['ctscope.internal'], dataDir });
  });
  afterAll(() => s.app.close());

  const cases: Array<{ name: string; host: string; status: number }> = [
    { name: 'attacker name', host: 'evil.example:7474', status: 403 },
    { name: 'attacker name without port', host: 'evil.example', status: 403 },
    { name: 'name that only starts like loopback', host: '127.0.0.1.evil.example', status: 403 },
    { name: 'userinfo trick', host: 'evil@127.0.0.1', status: 403 },
    { name: 'IPv4 loopback', host: '127.0.0.1:7474', status: 200 },
    { name: 'localhost', host: 'localhost:7474', status: 200 },
    { name: 'IPv6 loopback', host: '[::1]:7474', status: 200 },
    { name: '--allowed-host', host: 'ctscope.internal:7474', status: 200 },
  ];
  for (const c of cases) {
    it(`GET /api/flows with Host ${c.name} → ${c.status}`, async () => {
      const r = await s.app.inject({ method: 'GET', url: '/api/flows', headers: { host: c.host } });
      expect(r.statusCode).toBe(c.status);
    });
  }

  it('refuses a recording download by a rebound name', async () => {
    const bad = await s.app.inject({ url: `/api/recordings/${seg}`, headers: { host: 'evil.example:7474' } });
    expect(bad.statusCode).toBe(403);
    const good = await s.app.inject({ url: `/api/recordings/${seg}`, headers: { host: '127.0.0.1' } });
    expect(good.statusCode).toBe(200);
  });

  it('refuses a WebSocket whose Host and Origin are both the attacker', async () => {
    expect(
      await wsOutcome(s.url, { host: `evil.example:${s.port}`, origin: `http://evil.example:${s.port}` }),
    ).toBe('http:403');
  });

  it('refuses a WebSocket from a foreign Origin even with a loopback Host', async () => {
    const out = await wsOutcome(s.url, { host: `127.0.0.1:${s.port}`, origin: 'http://evil.example' });
    expect(out).toMatch(/^close:1008:cross-origin/);
  });

  it('accepts a WebSocket from the page itself and from non-browser clients', async () => {
    expect(await wsOutcome(s.url, { origin: `http://127.0.0.1:${s.port}` })).toBe('message:hello');
    expect(await wsOutcome(s.url, { origin: `http://ctscope.internal:${s.port}` })).toBe('message:hello');
    expect(await wsOutcome(s.url, {})).toBe('message:hello');
  });
});

describe('with a token', () => {
  let s: { app: FastifyInstance; url: string; port: number };
  beforeAll(async () => {
    s = await listen({ token: TOKEN });
  });
  afterAll(() => s.app.close());

  it('answers any Host once the token matches (the token guards, not the name)', async () => {
    const r = await s.app.inject({
      url: '/api/flows',
      headers: { host: 'node-7.example:7474', authorization: `Bearer ${TOKEN}` },
    });
    expect(r.statusCode).toBe(200);
  });

  it('checks the token before validating input: a stranger with a bad query gets 401, not the schema', async () => {
    const r = await s.app.inject({ url: '/api/flows?limit=abc&bogus=1' });
    expect(r.statusCode).toBe(401);
    expect(r.body).not.toMatch(/querystring|must be/);
    const authed = await s.app.inject({
      url: '/api/flows?limit=abc',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(authed.statusCode).toBe(400);
  });

  it('refuses tokens that differ only in length', async () => {
    for (const t of [TOKEN.slice(0, -1), `${TOKEN}x`, '']) {
      const r = await s.app.inject({ url: '/api/stats', headers: { authorization: `Bearer ${t}` } });
      expect(r.statusCode).toBe(401);
    }
  });
});

describe('security headers on the page', () => {
  let s: { app: FastifyInstance; url: string; port: number };
  beforeAll(async () => {
    const webRoot = mkdtempSync(join(tmpdir(), 'ctscope-web-'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>x</title>');
    s = await listen({ webRoot });
  });
  afterAll(() => s.app.close());

  it('sends CSP with frame-ancestors, X-Frame-Options and Referrer-Policy', async () => {
    const r = await s.app.inject({ url: '/', headers: { host: '127.0.0.1' } });
    expect(r.statusCode).toBe(200);
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('file modes', () => {
  it('creates audit.log 0600', async () => {
    const { AuditLog } = await import('../../src/http/audit-log.js');
    const dir = mkdtempSync(join(tmpdir(), 'ctscope-audit-'));
    const log = new AuditLog(join(dir, 'd', 'audit.log'));
    expect(
      await log.write({
        t: 'x',
        action: 'delete',
        client: '127.0.0.1',
        token: 'none',
        flowId: '1',
        status: 403,
        outcome: 'refused',
        ok: false,
        message: 'm',
      }),
    ).toBeUndefined();
    expect(statSync(log.path).mode & 0o777).toBe(0o600);
    expect(readFileSync(log.path, 'utf8')).toContain('"outcome":"refused"');
  });
});
