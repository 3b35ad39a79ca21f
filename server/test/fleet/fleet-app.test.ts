/** The fleet server against a fake Prometheus: page in fleet mode, token, Host/Origin checks, down/slow with the last data kept. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FleetSnapshot } from '@ctscope/shared';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_MODE_META, fleetApp } from '../../src/fleet/fleet-app.js';
import { FLEET_QUERIES } from '../../src/fleet/fleet-queries.js';
import { FleetReader, type FleetReaderOptions } from '../../src/fleet/fleet-reader.js';
import { PrometheusClient } from '../../src/fleet/prometheus-client.js';
import { type FakePrometheus, startFakePrometheus } from './fake-prometheus.js';

const OPTS: FleetReaderOptions = {
  nodeUrl: 'http://{instance}/',
  refreshMs: 0,
  slowMs: 1000,
  timeoutMs: 2500,
  timelineMinutes: 5,
  timelinePoints: 60,
};
const TOKEN = 'fleet-token-123456';

let prom: FakePrometheus;
const webRoot = mkdtempSync(join(tmpdir(), 'ctscope-fleet-web-'));
writeFileSync(
  join(webRoot, 'index.html'),
  '<!doctype html><html><head><title>t</title></head><body></body></html>',
);
writeFileSync(join(webRoot, 'app.js'), 'console.log(1)');
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  prom = await startFakePrometheus();
  prom.vectors.set(FLEET_QUERIES.up, [
    { metric: { node: 'a', instance: '10.0.0.1:7474' }, value: '1' },
    { metric: { node: 'b', instance: '10.0.0.2:7474' }, value: '1' },
  ]);
  prom.vectors.set(FLEET_QUERIES.critical, [{ metric: { node: 'b' }, value: '2' }]);
});
afterEach(async () => {
  prom.delayMs = 0;
  for (const a of apps.splice(0)) await a.close();
});
afterAll(async () => {
  await prom.close();
  rmSync(webRoot, { recursive: true, force: true });
});

async function app(opts: { token?: string; url?: string } = {}): Promise<FastifyInstance> {
  const a = Fastify();
  await a.register(fleetApp, {
    reader: new FleetReader(new PrometheusClient(opts.url ?? prom.url), OPTS),
    token: opts.token,
    webRoot,
  });
  apps.push(a);
  return a;
}
const get = (a: FastifyInstance, url: string, headers: Record<string, string> = {}) =>
  a.inject({ method: 'GET', url, headers: { host: '127.0.0.1:7480', ...headers } });

describe('fleet app', () => {
  it('serves the page in fleet mode and the nodes worst first', async () => {
    const a = await app();
    const page = await get(a, '/');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(FLEET_MODE_META);
    expect((await get(a, '/index.html')).body).toContain(FLEET_MODE_META);
    expect((await get(a, '/app.js')).statusCode).toBe(200);
    const r = await get(a, '/api/fleet');
    const s = r.json() as FleetSnapshot;
    expect(s.prometheus.state).toBe('ok');
    expect(s.nodes.map((n) => [n.node, n.status, n.url])).toEqual([
      ['b', 'critical', 'http://10.0.0.2:7474/'],
      ['a', 'ok', 'http://10.0.0.1:7474/'],
    ]);
    // Only the fixed queries reach Prometheus.
    expect(new Set(prom.queries)).toEqual(
      new Set([...Object.values(FLEET_QUERIES), expect.stringContaining('ctscope_flows')]),
    );
  });

  const GUARD: Array<{
    name: string;
    token?: string;
    headers: Record<string, string>;
    url?: string;
    status: number;
  }> = [
    { name: 'loopback Host', headers: {}, status: 200 },
    { name: 'localhost Host', headers: { host: 'localhost:7480' }, status: 200 },
    { name: 'IPv6 loopback Host', headers: { host: '[::1]:7480' }, status: 200 },
    { name: 'DNS-rebound Host', headers: { host: 'evil.example:7480' }, status: 403 },
    { name: 'cross-origin request', headers: { origin: 'http://evil.example' }, status: 403 },
    { name: 'same-origin request', headers: { origin: 'http://127.0.0.1:7480' }, status: 200 },
    { name: 'token set, none given', token: TOKEN, headers: {}, status: 401 },
    {
      name: 'token set, wrong one',
      token: TOKEN,
      headers: { authorization: 'Bearer nope-nope-nope' },
      status: 401,
    },
    {
      name: 'token in the query, any Host',
      token: TOKEN,
      headers: { host: 'fleet.example' },
      url: `/api/fleet?token=${TOKEN}`,
      status: 200,
    },
  ];
  it.each(GUARD)('$name → $status', async ({ token, headers, url, status }) => {
    const a = await app({ token });
    expect((await get(a, url ?? '/api/fleet', headers)).statusCode).toBe(status);
  });

  it('reports Prometheus slow, then down (timeout), keeping the last nodes; and down when refused', async () => {
    const a = await app();
    const ok = (await get(a, '/api/fleet')).json() as FleetSnapshot;
    expect(ok.nodes).toHaveLength(2);

    prom.delayMs = 1500;
    const slow = (await get(a, '/api/fleet')).json() as FleetSnapshot;
    expect(slow.prometheus.state).toBe('slow');
    expect(slow.prometheus.error).toMatch(/slow above 1000 ms/);
    expect(slow.nodes).toHaveLength(2);

    prom.delayMs = 4000;
    const down = (await get(a, '/api/fleet')).json() as FleetSnapshot;
    expect(down.prometheus.state).toBe('down');
    expect(down.prometheus.error).toBe('no answer (timeout)');
    expect(down.nodes).toEqual(slow.nodes);
    expect(down.at).toBe(slow.at);
    expect(down.prometheus.lastOkAt).toBe(slow.at);

    const refused = await app({ url: 'http://127.0.0.1:1' });
    const r = (await get(refused, '/api/fleet')).json() as FleetSnapshot;
    expect(r.prometheus.state).toBe('down');
    expect(r.prometheus.error).toMatch(/ECONNREFUSED|bad port/);
    expect(r.nodes).toEqual([]);
  });

  it('shares one round of queries between concurrent walls', async () => {
    const a = await app();
    prom.delayMs = 50;
    const before = prom.queries.length;
    await Promise.all([get(a, '/api/fleet'), get(a, '/api/fleet'), get(a, '/api/fleet')]);
    expect(prom.queries.length - before).toBe(Object.keys(FLEET_QUERIES).length + 1);
  });

  it('sends the bearer token from --prometheus-token-file, re-read each round; says why when it is unreadable', async () => {
    const file = join(webRoot, 'prom-token');
    writeFileSync(file, 'first-token\n');
    const client = new PrometheusClient(prom.url, { tokenFile: file });
    const signal = AbortSignal.timeout(2000);
    let before = prom.auths.length;
    await client.query(FLEET_QUERIES.up, signal);
    expect(prom.auths.slice(before)).toEqual(['Bearer first-token']);
    // Rotated (as a projected service-account token is): the next query carries the new one.
    writeFileSync(file, 'second-token');
    before = prom.auths.length;
    await client.query(FLEET_QUERIES.up, signal);
    expect(prom.auths.slice(before)).toEqual(['Bearer second-token']);
    // Without the option, no header at all.
    before = prom.auths.length;
    await new PrometheusClient(prom.url).query(FLEET_QUERIES.up, signal);
    expect(prom.auths.slice(before)).toEqual(['']);
    rmSync(file);
    await expect(client.query(FLEET_QUERIES.up, signal)).rejects.toThrow(
      /cannot read --prometheus-token-file/,
    );
    writeFileSync(file, '  \n');
    await expect(client.query(FLEET_QUERIES.up, signal)).rejects.toThrow(/is empty/);
  });
});
