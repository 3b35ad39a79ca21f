import { describe, expect, it } from 'vitest';
import { analyzeCapture, type FlowReport } from '../src/index.js';
import { named } from './fixtures.js';

const seed = (f: string) => named(`seed-incident/${f}`);
const natAll = [seed('nat-before.txt'), seed('nat-during.txt'), seed('nat-after.txt')];

function bySport(flows: FlowReport[], sport: number): FlowReport[] {
  return flows.filter((f) => f.orig.sport === sport);
}

interface Scenario {
  name: string;
  input: Parameters<typeof analyzeCapture>[0];
  /** Whether the 52001 entry's creation time is known, so the rule gap can be seen. */
  gapKnown: boolean;
}

const scenarios: Scenario[] = [
  {
    name: 'timestamped events with ids + four dumps',
    input: { nat: natAll, events: seed('events-ts-ext-id.txt'), lists: [seed('list-poll.txt')] },
    gapKnown: true,
  },
  {
    name: 'plain events without ids or times + four dumps',
    input: { nat: natAll, events: seed('events-default.txt'), lists: [seed('list-poll.txt')] },
    gapKnown: false,
  },
  {
    name: 'XML events + four dumps',
    input: { nat: natAll, events: seed('events-xml.txt'), lists: [seed('list-poll.txt')] },
    gapKnown: true,
  },
  {
    name: 'dumps only, current rules only',
    input: { nat: [seed('nat-after.txt')], lists: [seed('list-poll.txt')] },
    gapKnown: false,
  },
];

describe('analyzeCapture on the seed incident', () => {
  it.each(scenarios)('$name', ({ input, gapKnown }) => {
    const r = analyzeCapture(input);
    expect(r.errors).toEqual([]);
    const fixed = bySport(r.flows, 52001);
    expect(fixed).toHaveLength(1);
    const f = fixed[0]!;
    expect(f).toMatchObject({ verdict: 'no-dnat', severity: 'critical', keptAlive: true, id: '137932478' });
    expect(f.remedy).toBe(
      'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53',
    );
    expect(f.reason).toContain('172.20.112.199:53');
    expect(f.badFields).toEqual(['reply.src', 'reply.sport']);
    expect(f.createdDuringRuleGap).toBe(gapKnown);
    // It is the worst flow, so it comes first.
    expect(r.flows[0]).toBe(f);
    for (const sport of [59807, 39068]) {
      const [random] = bySport(r.flows, sport);
      expect(random).toMatchObject({ verdict: 'no-dnat', severity: 'critical', keptAlive: false });
    }
    const critical = r.flows.filter((x) => x.severity === 'critical').map((x) => x.orig.sport);
    expect(critical.sort()).toEqual([39068, 52001, 59807]);
    const healthy = r.flows.filter((x) => x.verdict === 'ok');
    expect(healthy.length).toBeGreaterThan(5);
    for (const h of healthy) expect(h.reply.src).toBe('172.20.112.199');
  });

  it('estimates 3 s between the four dumps from the entries counting down', () => {
    const r = analyzeCapture({ nat: [seed('nat-after.txt')], lists: [seed('list-poll.txt')] });
    expect(r.listIntervalsS).toEqual([3, 3, 3]);
  });

  it('cannot call a flow kept alive from a single dump', () => {
    const oneDump = seed('list-poll.txt').text.split('\n--\n')[0]!;
    const r = analyzeCapture({ nat: [seed('nat-after.txt')], lists: [{ name: 'one', text: oneDump }] });
    const [f] = bySport(r.flows, 52001);
    expect(f).toMatchObject({ verdict: 'no-dnat', keptAlive: false });
  });

  it('hides destroyed flows unless asked', () => {
    const input = { nat: natAll, events: seed('events-ts-ext-id.txt') };
    const live = analyzeCapture(input).flows;
    const all = analyzeCapture({ ...input, includeDestroyed: true }).flows;
    expect(all.length).toBeGreaterThan(live.length);
    expect(live.every((f) => f.destroyedAt === undefined)).toBe(true);
    // The 52001 entry that was answered before the gap and destroyed by kube-proxy is ok history.
    const old = all.find((f) => f.id === '3634247456');
    expect(old).toMatchObject({ verdict: 'ok' });
    expect(old?.destroyedAt).toBeDefined();
  });

  it('reports unparseable lines with file and line number', () => {
    const r = analyzeCapture({
      nat: [seed('nat-after.txt')],
      lists: [
        { name: 'bad.txt', text: 'ipv4 2 udp 17 29 src=10.42.0.33 dst=10.43.0.10 sport=52001\nhello\n' },
      ],
    });
    expect(r.errors.map((e) => [e.file, e.line])).toEqual([
      ['bad.txt', 1],
      ['bad.txt', 2],
    ]);
  });

  it('names the file when a NAT input is not a known format', () => {
    expect(() => analyzeCapture({ nat: [{ name: 'x.txt', text: 'hello world\n' }], lists: [] })).toThrow(
      /x\.txt/,
    );
  });
});
