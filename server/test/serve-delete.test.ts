import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeAgent } from '../src/engine/node-agent.js';
import { buildApp } from '../src/http/app.js';
import { AuditLog } from '../src/http/audit-log.js';
import { seedScenario, waitFor, withEnv } from './seed-scenario.js';

const TOKEN = 'test-token-0123456789';

describe('DELETE /api/flows/:id (fake conntrack)', () => {
  const s = seedScenario({ suspectPollMs: 2000 });
  const config = { ...s.config, allowDelete: true, token: TOKEN };
  let restore: () => void;
  let agent: NodeAgent;
  const app = Fastify();

  beforeAll(async () => {
    restore = withEnv(s.env);
    agent = new NodeAgent(config);
    const hub = await buildApp(app, {
      engine: agent,
      token: TOKEN,
      audit: new AuditLog(join(config.dataDir, 'audit.log')),
    });
    await app.ready();
    await agent.start();
    hub.start();
  });
  afterAll(async () => {
    await app.close();
    await agent.stop();
    restore();
  });

  const auth = { authorization: `Bearer ${TOKEN}` };

  it('requires the token for the API but not for /healthz', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/flows' })).statusCode).toBe(401);
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/api/flows',
          headers: { authorization: 'Bearer wrong-token-000000' },
        })
      ).statusCode,
    ).toBe(401);
    expect((await app.inject({ method: 'GET', url: `/api/flows?token=${TOKEN}` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it("runs exactly the entry's conntrack -D with the token, and audits it", async () => {
    await waitFor(async () => {
      // The NAT polls go before → during (rules gone: the flow reads ok) → after (stays); only the last is stable.
      const nat = await app.inject({ method: 'GET', url: '/api/nat', headers: auth });
      if (nat.json().versions.length < 3) return undefined;
      const r = await app.inject({ method: 'GET', url: '/api/flows/137932478', headers: auth });
      // the flow exists from the first dump, before the NAT snapshot that makes it no-dnat (and deletable)
      return r.statusCode === 200 && r.json().flow.verdict === 'no-dnat' ? true : undefined;
    }, 10_000);
    expect((await app.inject({ method: 'DELETE', url: '/api/flows/137932478' })).statusCode).toBe(401);
    const r = await app.inject({ method: 'DELETE', url: '/api/flows/137932478', headers: auth });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({
      ok: true,
      command: [
        'conntrack',
        '-D',
        '-p',
        'udp',
        '--orig-src',
        '10.42.0.33',
        '--orig-dst',
        '10.43.0.10',
        '--sport',
        '52001',
        '--dport',
        '53',
      ],
    });
    const calls = readFileSync(join(s.env.FAKE_CT_STATE_DIR!, 'calls.log'), 'utf8');
    expect(calls).toContain(
      'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53\n',
    );
    const audit = readFileSync(join(config.dataDir, 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // The 401 attempt above is audited too.
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ action: 'delete', flowId: '137932478', ok: false, status: 401 });
    expect(audit[1]).toMatchObject({ action: 'delete', flowId: '137932478', ok: true, outcome: 'deleted' });
  });

  it('refuses to delete a healthy flow (409) and an unknown one (404)', async () => {
    // Healthy flows come from the event tail, which may start after the first dump on a loaded machine.
    const healthy: { id: string } = await waitFor(
      async () =>
        (await app.inject({ method: 'GET', url: '/api/flows?verdict=ok&limit=1', headers: auth })).json()
          .flows[0],
      10_000,
    );
    expect(
      (await app.inject({ method: 'DELETE', url: `/api/flows/${healthy.id}`, headers: auth })).statusCode,
    ).toBe(409);
    expect((await app.inject({ method: 'DELETE', url: '/api/flows/424242', headers: auth })).statusCode).toBe(
      404,
    );
  });
});
