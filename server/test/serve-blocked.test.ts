/**
 * `ctscope serve` (fake node tools) on real kube-proxy rules that drop traffic on purpose: a never-DNATed entry
 * from outside to an externalTrafficPolicy Local LB IP with no local endpoint is `blocked` (REST, filter,
 * /metrics), a pod's never-DNATed entry to the same LB IP stays a critical no-dnat.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowReport } from '@ctscope/shared';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeAgent } from '../src/engine/node-agent.js';
import { buildApp } from '../src/http/app.js';
import { seedScenario, waitFor, withEnv } from './seed-scenario.js';

const REPO = join(import.meta.dirname, '..', '..');
const NAT = join(REPO, 'shared', 'test', 'fixtures', 'nat');
const FAKES = [join(REPO, 'server', 'test', 'fake-bin'), join(REPO, 'server', 'test', 'fake-bin-nat')];

const TOKEN = 'blocked-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const OUTSIDE =
  'ipv4     2 udp      17 30 src=192.0.2.99 dst=192.0.2.30 sport=40000 dport=7777 [UNREPLIED] src=192.0.2.30 dst=192.0.2.99 sport=7777 dport=40000 id=1001';
const POD =
  'ipv4     2 udp      17 30 src=10.42.0.33 dst=192.0.2.30 sport=40001 dport=7777 [UNREPLIED] src=192.0.2.30 dst=10.42.0.33 sport=7777 dport=40001 id=1002';

describe('ctscope serve: traffic kube-proxy drops on purpose', () => {
  const scenario = seedScenario();
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-blocked-'));
  const app = Fastify();
  let agent: NodeAgent;
  let restoreEnv: () => void;

  beforeAll(async () => {
    mkdirSync(join(dir, 'state'));
    writeFileSync(
      join(dir, 'events.txt'),
      `[1795689888.889204]\t    [NEW] ${OUTSIDE}\n[1795689888.889238]\t    [NEW] ${POD}\n`,
    );
    writeFileSync(join(dir, 'list.txt'), `${OUTSIDE}\n${POD}\n`);
    restoreEnv = withEnv({
      PATH: `${FAKES.join(':')}:${process.env.PATH}`,
      FAKE_CT_STATE_DIR: join(dir, 'state'),
      FAKE_STATE_DIR: join(dir, 'state'),
      FAKE_CT_EVENTS: join(dir, 'events.txt'),
      FAKE_CT_EVENTS_AFTER: 'stay',
      FAKE_CT_LIST: join(dir, 'list.txt'),
      FAKE_CT_COUNT: '2',
      // The real iptables-save output holds both tables; the fake prints it for -t nat.
      FAKE_IPTABLES_NAT: join(NAT, 'iptables-blocked.txt'),
      FAKE_IPTABLES_FILTER: '',
    });
    agent = new NodeAgent({
      ...scenario.config,
      dataDir: join(dir, 'data'),
      allowDelete: true,
      token: TOKEN,
    });
    const hub = await buildApp(app, { engine: agent, token: TOKEN });
    await app.ready();
    await agent.start();
    hub.start();
  });

  afterAll(async () => {
    await app.close();
    await agent?.stop();
    restoreEnv();
  });

  const flows = async (query = ''): Promise<FlowReport[]> => {
    const r = await app.inject({ method: 'GET', url: `/api/flows${query}`, headers: auth });
    expect(r.statusCode).toBe(200);
    return r.json().flows;
  };

  it('judges the outside client blocked (ok, no remedy, the rule named) and the pod client no-dnat', async () => {
    const blocked = await waitFor(
      async () => (await flows('?verdict=blocked')).find((f) => f.id === '1001'),
      5000,
    );
    expect(blocked).toMatchObject({
      verdict: 'blocked',
      severity: 'ok',
      remedy: null,
      service: 'default/game:udp',
    });
    expect(blocked.reason).toContain('externalTrafficPolicy Local and no local endpoint on this node');
    expect(blocked.reason).toContain(
      'filter KUBE-EXTERNAL-SERVICES "default/game:udp has no local endpoints" -j DROP',
    );
    const pod = (await flows()).find((f) => f.id === '1002')!;
    expect(pod).toMatchObject({ verdict: 'no-dnat', severity: 'critical' });
    // Critical first; the blocked flow is not among the critical ones.
    expect((await flows('?severity=critical')).map((f) => f.id)).toEqual(['1002']);
  });

  it('refuses to delete a blocked entry through the API (there is no remedy to run)', async () => {
    const r = await app.inject({ method: 'DELETE', url: '/api/flows/1001', headers: auth });
    expect(r.statusCode).toBe(409);
    expect(r.json().message).toBe('flow 1001 is blocked: deleting it would not help');
    const calls = readFileSync(join(dir, 'state', 'calls.log'), 'utf8');
    expect(calls).not.toMatch(/conntrack -D/);
  });

  it('counts it in /metrics with its own verdict label and severity ok', async () => {
    const r = await app.inject({ method: 'GET', url: '/metrics', headers: auth });
    expect(r.body).toMatch(/ctscope_flows\{verdict="blocked",severity="ok"\} 1\b/);
    expect(r.body).toMatch(/ctscope_flows\{verdict="no-dnat",severity="critical"\} 1\b/);
  });
});
