import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeAgent } from '../../src/engine/node-agent.js';
import { buildApp } from '../../src/http/app.js';
import { AuditLog } from '../../src/http/audit-log.js';
import { seedScenario, waitFor, withEnv } from '../seed-scenario.js';

const TOKEN = 'test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
/** The seed's no-dnat flow (sport 52001). */
const BAD_FLOW = '137932478';

interface Running {
  app: FastifyInstance;
  agent: NodeAgent;
  auditPath: string;
  callsLog: string;
  stop: () => Promise<void>;
}

async function start(allowDelete: boolean): Promise<Running> {
  const s = seedScenario({ suspectPollMs: 2000 });
  const config = { ...s.config, allowDelete, token: TOKEN };
  const restore = withEnv(s.env);
  const agent = new NodeAgent(config);
  const app = Fastify({ bodyLimit: 64 * 1024 });
  const auditPath = join(config.dataDir, 'audit.log');
  const hub = await buildApp(app, { engine: agent, token: TOKEN, audit: new AuditLog(auditPath) });
  await app.ready();
  await agent.start();
  hub.start();
  await waitFor(async () => {
    const r = await app.inject({ url: `/api/flows/${BAD_FLOW}`, headers: auth });
    return r.statusCode === 200 && r.json().flow.remedy ? true : undefined;
  }, 8000);
  return {
    app,
    agent,
    auditPath,
    callsLog: join(s.env.FAKE_CT_STATE_DIR!, 'calls.log'),
    stop: async () => {
      await app.close();
      await agent.stop();
      restore();
    },
  };
}

function auditLines(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

function deleteCalls(callsLog: string): string[] {
  return existsSync(callsLog)
    ? readFileSync(callsLog, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('conntrack -D'))
    : [];
}

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('every DELETE attempt is audited', () => {
  it('with --allow-delete off: the 403 is written, and audit.log is created 0600', async () => {
    running = await start(false);
    const r = await running.app.inject({ method: 'DELETE', url: `/api/flows/${BAD_FLOW}`, headers: auth });
    expect(r.statusCode).toBe(403);
    const lines = auditLines(running.auditPath);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      action: 'delete',
      flowId: BAD_FLOW,
      status: 403,
      outcome: 'refused',
      ok: false,
      token: 'valid',
    });
    expect(String(lines[0]!.message)).toContain('disabled');
    expect(statSync(running.auditPath).mode & 0o777).toBe(0o600);
    expect(deleteCalls(running.callsLog)).toHaveLength(0);
  });

  it('refusals by the token hook, validation, lookup and verdict are all written', async () => {
    running = await start(true);
    const { app } = running;
    // Healthy flows come from the event tail, which may start after the first dump on a loaded machine.
    // A flow DNATed to an endpoint stays ok; one that is ok only because its NAT snapshot is not in yet may turn
    // no-dnat (deletable) before the attempt.
    // And only once the NAT polls have reached their last version (before → during → after, which stays): a flow
    // DNATed to an endpoint the restart replaced turns stale-endpoint (deletable) with the last one.
    await waitFor(
      async () =>
        (await app.inject({ url: '/api/nat', headers: auth })).json().versions.length >= 3 ? true : undefined,
      10_000,
    );
    const healthy: { id: string } = await waitFor(
      async () =>
        (
          (await app.inject({ url: '/api/flows?verdict=ok&limit=1000', headers: auth })).json()
            .flows as Array<{
            id: string;
            orig: { dst: string };
            reply: { src: string };
          }>
        ).find((f) => f.reply.src !== f.orig.dst),
      10_000,
    );
    const attempts: Array<{
      url: string;
      headers: Record<string, string>;
      status: number;
      token: string;
      payload?: string;
    }> = [
      { url: `/api/flows/${BAD_FLOW}`, headers: {}, status: 401, token: 'none' },
      {
        url: `/api/flows/${BAD_FLOW}`,
        headers: { authorization: 'Bearer wrong-token-000000' },
        status: 401,
        token: 'invalid',
      },
      { url: '/api/flows/bad%20id%3B', headers: auth, status: 400, token: 'valid' },
      { url: '/api/flows/424242', headers: auth, status: 404, token: 'valid' },
      { url: `/api/flows/${healthy.id}`, headers: auth, status: 409, token: 'valid' },
      {
        url: `/api/flows/${BAD_FLOW}`,
        headers: { ...auth, 'content-type': 'application/json' },
        status: 413,
        token: 'valid',
        payload: JSON.stringify({ junk: 'x'.repeat(200 * 1024) }),
      },
    ];
    for (const a of attempts) {
      const r = await app.inject({ method: 'DELETE', url: a.url, headers: a.headers, payload: a.payload });
      expect(r.statusCode, a.url).toBe(a.status);
    }
    const lines = auditLines(running.auditPath);
    expect(lines.map((l) => [l.status, l.outcome, l.token])).toEqual(
      attempts.map((a) => [a.status, 'refused', a.token]),
    );
    for (const l of lines) {
      expect(typeof l.t).toBe('string');
      expect(l.client).toBe('127.0.0.1');
      expect(String(l.message).length).toBeGreaterThan(0);
    }
    expect(deleteCalls(running.callsLog)).toHaveLength(0);
  });

  it('20 concurrent deletes of one flow run conntrack -D exactly once', async () => {
    running = await start(true);
    const { app } = running;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.inject({ method: 'DELETE', url: `/api/flows/${BAD_FLOW}`, headers: auth }),
      ),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(19);
    expect(deleteCalls(running.callsLog)).toHaveLength(1);
    const lines = auditLines(running.auditPath);
    expect(lines).toHaveLength(20);
    expect(lines.filter((l) => l.outcome === 'deleted')).toHaveLength(1);
    expect(lines.find((l) => l.outcome === 'deleted')!.argv).toContain('--sport');
  });
});
