import type { FleetNode, FleetSnapshot } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import type { FleetState } from '../src/fleet/fleet-store.js';
import { OTHER_NODES, sourceBanner, summarize, timelineRows } from '../src/fleet/fleet-view.js';

const node = (name: string, status: FleetNode['status'], critical = 0): FleetNode => ({
  node: name,
  instance: `${name}:7474`,
  url: null,
  up: status !== 'down',
  status,
  critical,
  warning: 0,
  eventLoss: 0,
  tableFill: 0.1,
  alerts: 0,
});
const snap = (patch: Partial<FleetSnapshot['prometheus']> = {}, nodes: FleetNode[] = []): FleetSnapshot => ({
  at: 1000,
  prometheus: { url: 'http://p', state: 'ok', latencyMs: 12, error: null, lastOkAt: 1000, ...patch },
  refreshMs: 5000,
  nodes,
  timeline: { stepMs: 1000, points: [] },
});
const state = (patch: Partial<FleetState>): FleetState => ({
  snapshot: null,
  fetchedAt: null,
  server: 'ok',
  serverError: null,
  paused: false,
  ...patch,
});

describe('sourceBanner', () => {
  const CASES: Array<[string, FleetState, string, RegExp]> = [
    ['first load', state({ server: 'connecting' }), 'connecting', /connecting/],
    ['all fine', state({ snapshot: snap() }), 'ok', /Prometheus ok · 12 ms/],
    [
      'Prometheus slow',
      state({ snapshot: snap({ state: 'slow', error: 'answered in 3000 ms' }) }),
      'prometheus-slow',
      /slow: answered in 3000 ms/,
    ],
    [
      'Prometheus down, with the age of the data kept',
      state({ snapshot: snap({ state: 'down', error: 'ECONNREFUSED', lastOkAt: 1000 }) }),
      'prometheus-down',
      /down: ECONNREFUSED · showing data from 9 s ago/,
    ],
    [
      'fleet server gone: wins over the last Prometheus state',
      state({ snapshot: snap(), server: 'unreachable', serverError: 'Failed to fetch' }),
      'server-down',
      /fleet server unreachable \(Failed to fetch\) · showing data from 9 s ago/,
    ],
    ['paused', state({ snapshot: snap(), paused: true }), 'paused', /paused/],
  ];
  it.each(CASES)('%s', (_name, s, want, text) => {
    const b = sourceBanner(s, 10_000);
    expect(b.state).toBe(want);
    expect(b.text).toMatch(text);
  });
});

describe('summarize', () => {
  it('counts nodes by state and critical flows', () => {
    expect(
      summarize([node('a', 'critical', 3), node('b', 'critical', 1), node('c', 'down'), node('d', 'ok')]),
    ).toEqual({ nodes: 4, critical: 2, down: 1, warning: 0, criticalFlows: 4 });
  });
});

describe('timelineRows', () => {
  it('draws the worst nodes and sums the rest into one line', () => {
    const s: Pick<FleetSnapshot, 'nodes' | 'timeline'> = {
      nodes: [node('a', 'critical', 2), node('b', 'ok'), node('c', 'ok')],
      timeline: {
        stepMs: 1000,
        points: [
          { t: 1, bad: { a: 2, b: 1, c: 4 } },
          { t: 2, bad: { a: 0 } },
        ],
      },
    };
    expect(timelineRows(s, 1)).toEqual({
      series: ['a', OTHER_NODES],
      rows: [
        { t: 1, a: 2, [OTHER_NODES]: 5 },
        { t: 2, a: 0, [OTHER_NODES]: 0 },
      ],
    });
    expect(timelineRows(s, 5).series).toEqual(['a', 'b', 'c']);
  });
});
