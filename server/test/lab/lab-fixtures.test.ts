/**
 * Regression tests on REAL lab output (no root needed): the files in test/fixtures/lab/ were recorded with
 * `ctscope lab capture` on this kind of machine (see test/fixtures/lab/README.md). The pure analysis
 * (`analyzeCapture`, the engine behind `ctscope analyze`) must read them without errors and flag the fixed-port
 * clients exactly as the live server does, with no false positives on flows created after the fault.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCapture, type FlowReport, parseIptablesSave } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import { withoutSaveComments } from '../../src/lab/kube-proxy-rules.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'lab');

interface Meta {
  backend: 'nft' | 'legacy';
  fault:
    | {
        fault: 'restart';
        vip: string;
        rulesRemovedAt: number;
        entriesDeletedAt: number;
        rulesRestoredAt: number;
      }
    | {
        fault: 'replace-endpoint';
        oldIp: string;
        newIp: string;
        rulesUpdatedAt: number;
        clients: Array<{ client: string; src: string; sport: number; endpoint?: string; stale: boolean }>;
      };
  services: Array<{ key: string; vip: string; port: number }>;
  podIpsBefore: Record<string, string>;
  podIpsAfter: Record<string, string>;
  clients: Array<{
    key: string;
    src: string;
    sport: number | null;
    mode: 'fixed' | 'random';
    service: string;
  }>;
}

function load(dir: string) {
  const read = (f: string) => ({ name: `${dir}/${f}`, text: readFileSync(join(DIR, dir, f), 'utf8') });
  const files = readdirSync(join(DIR, dir));
  const meta = JSON.parse(read('meta.json').text) as Meta;
  const nat = ['nat-before.txt', 'nat-during.txt', 'nat-after.txt']
    .filter((f) => files.includes(f))
    .map(read);
  return { meta, nat, events: read('events.txt'), lists: [read('list-poll.txt')], read };
}

const captures = readdirSync(DIR).filter((d) => !d.includes('.'));
const restarts = captures.filter((d) => d.startsWith('restart-'));
const replacements = captures.filter((d) => d.startsWith('replace-endpoint-'));

function flowOf(flows: FlowReport[], src: string, sport: number, dst: string): FlowReport[] {
  return flows.filter((f) => f.orig.src === src && f.orig.sport === sport && f.orig.dst === dst);
}

describe('lab fixtures', () => {
  it('has a restart capture for both iptables backends and a replace-endpoint capture', () => {
    expect(restarts.sort()).toEqual(['restart-legacy', 'restart-nft']);
    expect(replacements).toContain('replace-endpoint-nft');
  });
});

describe.each(restarts)('analyzeCapture on the lab restart capture %s', (dir) => {
  const { meta, nat, events, lists } = load(dir);
  const fault = meta.fault as Extract<Meta['fault'], { fault: 'restart' }>;
  const dns = meta.services.find((s) => s.key === 'dns')!;
  const monitors = meta.clients.filter((c) => c.mode === 'fixed' && c.service === 'dns');
  const r = analyzeCapture({ nat, events, lists });

  it('parses every line and every snapshot', () => {
    expect(r.errors).toEqual([]);
    expect(r.eventLoss).toBe(0);
    const [before, during, after] = r.snapshots;
    const frontend = (s: typeof before) => s!.frontends.find((f) => f.ip === dns.vip && f.port === dns.port);
    expect(frontend(before)?.endpoints).toHaveLength(2);
    expect(frontend(during)).toBeUndefined();
    expect(frontend(after)?.endpoints).toEqual(frontend(before)?.endpoints);
    // The rules came back exactly as they were (the header lines carry times, the counters differ).
    const norm = (t: string) => withoutSaveComments(t).replace(/\[\d+:\d+\]/g, '[0:0]');
    expect(norm(nat[2]!.text)).toBe(norm(nat[0]!.text));
    expect(parseIptablesSave(nat[1]!.text).frontends.map((f) => f.ip)).not.toContain(dns.vip);
  });

  it.each(monitors.map((c) => [c.key, c] as const))(
    'flags %s no-dnat, critical, kept alive, born in the gap',
    (_k, c) => {
      const mine = flowOf(r.flows, c.src, c.sport!, dns.vip);
      expect(mine).toHaveLength(1);
      const f = mine[0]!;
      expect(f).toMatchObject({
        verdict: 'no-dnat',
        severity: 'critical',
        keptAlive: true,
        createdDuringRuleGap: true,
        unreplied: true,
        reply: { src: dns.vip, sport: dns.port },
        badFields: ['reply.src', 'reply.sport'],
        remedy: `conntrack -D -p udp --orig-src ${c.src} --orig-dst ${dns.vip} --sport ${c.sport} --dport ${dns.port}`,
      });
      // Created by a packet that arrived after the entries were deleted and before the rules returned.
      expect(f.createdAt).toBeGreaterThanOrEqual(fault.entriesDeletedAt - 5);
      expect(f.createdAt).toBeLessThan(fault.rulesRestoredAt);
      expect(f.timeoutResets).toBeGreaterThan(0);
    },
  );

  it('flags nothing created after the rules returned, nor the other service', () => {
    const after = r.flows.filter((f) => f.createdAt !== undefined && f.createdAt > fault.rulesRestoredAt);
    expect(after.length).toBeGreaterThanOrEqual(3);
    for (const f of after)
      expect(f, `${f.orig.src}:${f.orig.sport} -> ${f.orig.dst}`).toMatchObject({ verdict: 'ok' });
    const echo = meta.services.find((s) => s.key === 'echo')!;
    for (const c of meta.clients.filter((x) => x.service === 'echo' && x.mode === 'fixed')) {
      expect(flowOf(r.flows, c.src, c.sport!, echo.vip)[0]).toMatchObject({ verdict: 'ok' });
    }
    // Random-port entries born in the gap are broken too, but they count down and expire: not kept alive.
    const gapRandom = r.flows.filter(
      (f) =>
        f.verdict === 'no-dnat' && !monitors.some((c) => c.src === f.orig.src && c.sport === f.orig.sport),
    );
    expect(gapRandom.length).toBeGreaterThan(0);
    for (const f of gapRandom) expect(f.keptAlive).toBe(false);
    // The monitors are the worst flows, so they come first.
    expect(r.flows.slice(0, monitors.length).every((f) => f.keptAlive)).toBe(true);
  });

  it("matches the clients' own logs: the monitors never got an answer after the gap", () => {
    for (const c of monitors) {
      const log = load(dir).read(`client-${c.key}.log`).text;
      const after = log
        .split('\n')
        .filter((l) => l.trim() !== '')
        .filter((l) => Date.parse(l.split(' ')[0]!) > fault.rulesRemovedAt);
      expect(after.length).toBeGreaterThan(5);
      expect(after.every((l) => l.includes(' ok=0 '))).toBe(true);
    }
  });
});

describe.each(replacements)('analyzeCapture on the lab replace-endpoint capture %s', (dir) => {
  const { meta, nat, events, lists } = load(dir);
  const fault = meta.fault as Extract<Meta['fault'], { fault: 'replace-endpoint' }>;
  const dns = meta.services.find((s) => s.key === 'dns')!;
  const r = analyzeCapture({ nat, events, lists });
  const current = Object.entries(meta.podIpsAfter)
    .filter(([pod]) => pod.startsWith('dns-'))
    .map(([, ip]) => ip)
    .sort();

  it('parses every line and sees the endpoint change', () => {
    expect(r.errors).toEqual([]);
    const eps = (i: number) =>
      r.snapshots[i]!.frontends.find((f) => f.ip === dns.vip)!
        .endpoints.map((e) => e.ip)
        .sort();
    expect(eps(0)).toContain(fault.oldIp);
    expect(eps(1)).toEqual(current);
    expect(current).toContain(fault.newIp);
  });

  it('flags every fixed-port client pinned to the old address stale-endpoint, critical, and no other', () => {
    expect(fault.clients.some((c) => c.stale)).toBe(true);
    for (const c of fault.clients) {
      const [f] = flowOf(r.flows, c.src, c.sport, dns.vip);
      if (c.stale) {
        expect(f, c.client).toMatchObject({
          verdict: 'stale-endpoint',
          severity: 'critical',
          reply: { src: fault.oldIp },
        });
        expect(f!.badFields).toContain('reply.src');
        expect(f!.expectedEndpoints.map((e) => e.ip).sort()).toEqual(current);
        expect(f!.remedy).toBe(
          `conntrack -D -p udp --orig-src ${c.src} --orig-dst ${dns.vip} --sport ${c.sport} --dport ${dns.port}`,
        );
      } else {
        expect(f, c.client).toMatchObject({ verdict: 'ok' });
      }
    }
  });

  it('flags nothing created after the rules changed', () => {
    const after = r.flows.filter((f) => f.createdAt !== undefined && f.createdAt > fault.rulesUpdatedAt);
    expect(after.length).toBeGreaterThanOrEqual(3);
    for (const f of after) expect(f, `${f.orig.src}:${f.orig.sport}`).toMatchObject({ verdict: 'ok' });
  });
});
