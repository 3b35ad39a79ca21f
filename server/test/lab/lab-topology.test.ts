import { describe, expect, it } from 'vitest';
import {
  clientEndpoints,
  labNameProblem,
  labNamespaces,
  labTopology,
  nextPodIp,
} from '../../src/lab/lab-topology.js';
import {
  decodeAnswer,
  decodeQuery,
  encodeAnswer,
  encodeQuery,
  formatClientLogLine,
  formatResponderReady,
  parseClientLog,
  responderReadyAt,
} from '../../src/lab/udp-wire.js';

describe('labTopology', () => {
  const t = labTopology('ctlabt-abc123');

  it('names every namespace after the lab, acceptable to ctscope serve --netns', () => {
    const names = labNamespaces(t);
    expect(names[0]).toBe('ctlabt-abc123-node');
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) {
      expect(n.startsWith('ctlabt-abc123-')).toBe(true);
      expect(n).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
    }
  });

  it('keeps interface names within IFNAMSIZ and addresses unique, in both families', () => {
    for (const h of [...t.pods, ...t.apps]) expect(h.hostIf.length).toBeLessThanOrEqual(15);
    const ips = [...t.pods, ...t.apps].map((h) => h.ip);
    expect(new Set(ips).size).toBe(ips.length);
    const ip6s = [...t.pods, ...t.apps].map((h) => h.ip6);
    expect(ip6s.every((ip) => ip?.startsWith('fd00:42::'))).toBe(true);
    expect(new Set(ip6s).size).toBe(ip6s.length);
  });

  it('has fixed-port clients like the incident (sport 52001) and random-port ones, for both services', () => {
    expect(t.clients.filter((c) => c.mode === 'fixed' && c.service === 'dns').map((c) => c.sport)).toEqual([
      52001, 52001, 52001,
    ]);
    expect(t.clients.some((c) => c.mode === 'random' && c.service === 'dns')).toBe(true);
    expect(t.clients.some((c) => c.mode === 'fixed' && c.service === 'echo')).toBe(true);
    expect(t.pods.filter((p) => p.service === 'dns')).toHaveLength(2);
  });

  it('gives kube-dns an IPv6 ClusterIP and an IPv6 fixed-port and random-port client', () => {
    const six = t.clients.filter((c) => c.family === 6);
    expect(six.map((c) => [c.key, c.mode, c.sport])).toEqual([
      ['app-a-dns6-monitor', 'fixed', 52001],
      ['app-b-dns6-lookups', 'random', undefined],
    ]);
    expect(clientEndpoints(t, six[0]!)).toEqual({
      family: 6,
      src: 'fd00:42::33',
      vip: 'fd00:43::a',
      port: 53,
    });
    expect(clientEndpoints(t, t.clients[0]!)).toMatchObject({
      family: 4,
      src: '10.42.0.33',
      vip: '10.43.0.10',
    });
    // echo is single-stack: an IPv6 client of it is a topology error, not a silent IPv4 fallback.
    expect(() =>
      clientEndpoints(t, { key: 'x', app: 'app-a', service: 'echo', mode: 'fixed', family: 6 }),
    ).toThrow(/no IPv6 address/);
  });

  it('rejects names that would make bad namespace names', () => {
    expect(labNameProblem('ctlab')).toBeUndefined();
    for (const bad of ['', 'Ctlab', '1lab', 'lab_x', 'lab-', 'a'.repeat(33), 'x/y'])
      expect(labNameProblem(bad), bad).toBeDefined();
    expect(() => labTopology('../etc')).toThrow(/lab name/);
  });

  it('hands out replacement addresses above the initial ones', () => {
    expect(nextPodIp(['10.42.0.11'])).toBe('10.42.0.101');
    expect(nextPodIp(['10.42.0.101', '10.42.0.102'])).toBe('10.42.0.103');
  });
});

describe('udp-wire', () => {
  it('round-trips queries and answers and rejects anything else', () => {
    expect(decodeQuery(encodeQuery(42, 'app-a'))).toBe(42);
    expect(decodeAnswer(encodeAnswer(42, 'dns-a'))).toEqual({ id: 42, pod: 'dns-a' });
    expect(decodeQuery(Buffer.from('hello'))).toBeUndefined();
    expect(decodeAnswer(encodeQuery(1, 'x'))).toBeUndefined();
  });

  it('parses its own log lines and skips the rest', () => {
    const line = { at: Date.parse('2026-11-26T11:00:00.000Z'), ok: 1, fail: 0, sport: 52001, from: 'dns-a' };
    const text = `udp-client started\n${formatClientLogLine(line)}\n${formatClientLogLine({ ...line, ok: 0, fail: 1, from: '-' })}\n`;
    expect(formatClientLogLine(line)).toBe('2026-11-26T11:00:00.000Z ok=1 fail=0 sport=52001 from=dns-a');
    expect(parseClientLog(text)).toEqual([line, { ...line, ok: 0, fail: 1, from: '-' }]);
  });

  it.each([
    ['the ready line', `x listening on udp4 0.0.0.0 port 53\n${formatResponderReady(1000, 53)}\n`, 1000],
    [
      'one socket bound only',
      '2026-11-26T11:00:00.000Z udp-responder dns-a listening on udp4 0.0.0.0 port 53\n',
      undefined,
    ],
    ['an empty log', '', undefined],
    ['a ready line cut short', '2026-11-26T11:00:00.000Z ready port=', undefined],
  ])('reads when a responder is ready from its log: %s', (_name, text, at) => {
    expect(responderReadyAt(text)).toBe(at);
  });
});
