import { VERDICTS } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import { initialState } from '../src/domain/dashboard-state.js';
import { reduce } from '../src/domain/flow-reducer.js';
import { aliveIn, selectRows } from '../src/domain/flow-rows.js';
import { badInLast, computeKpis, counterRate } from '../src/domain/kpis.js';
import { formatLifecycleLine, lifecycleLines } from '../src/domain/lifecycle.js';
import { countByFrontend } from '../src/domain/service-stats.js';
import { binTimeline, binWidthMs } from '../src/domain/timeline-bins.js';
import { delta, flow, incident, sync } from './support/fixtures.js';

describe('table rows', () => {
  const flows = new Map(
    [
      flow('1', { lastSeen: 5000, createdAt: 4000 }),
      incident({ firstSeen: 2000, createdAt: 2000 }),
      flow('3', { verdict: 'unanswered', severity: 'warning', createdAt: 1000 }),
      flow('4', { destroyedAt: 1500, createdAt: 500 }),
    ].map((f) => [f.id, f]),
  );

  it('puts the worst first by default and filters with the server matcher', () => {
    const rows = selectRows(flows, {}, undefined, { key: 'worst', dir: 'asc' }, 6000);
    expect(rows.map((r) => r.id)).toEqual(['137932478', '3', '1', '4']);
    expect(
      selectRows(flows, { port: 52001 }, undefined, { key: 'worst', dir: 'asc' }, 6000).map((r) => r.id),
    ).toEqual(['137932478']);
    expect(
      selectRows(flows, { severity: ['warning'] }, undefined, { key: 'worst', dir: 'asc' }, 6000).map(
        (r) => r.id,
      ),
    ).toEqual(['3']);
  });

  it('sorts by age either way and keeps only flows alive in the window', () => {
    const byAge = selectRows(flows, {}, undefined, { key: 'age', dir: 'desc' }, 6000).map((r) => r.id);
    expect(byAge[0]).toBe('3');
    expect(
      selectRows(flows, {}, { from: 2000, to: 6000 }, { key: 'worst', dir: 'asc' }, 6000).map((r) => r.id),
    ).not.toContain('4');
    expect(aliveIn(flow('x', { createdAt: 7000 }), { from: 0, to: 6000 })).toBe(false);
  });
});

describe('KPIs', () => {
  it('counts live critical flows, bad flows per minute and counter rates', () => {
    let s = reduce(
      initialState(),
      sync(1, {
        now: 100_000,
        flows: [incident(), incident({ id: 'gone', destroyedAt: 1 }), flow('1')],
        timeline: [
          { t: 30_000, events: { NEW: 1, UPDATE: 0, DESTROY: 0 }, bad: { 'no-dnat': 4 } },
          { t: 99_000, events: { NEW: 1, UPDATE: 0, DESTROY: 0 }, bad: { 'no-dnat': 2, unanswered: 1 } },
        ],
        counters: { at: 98_000, count: 100, max: 1000, fill: 0.1, stats: { insert_failed: 10 } },
      }),
    );
    s = reduce(
      s,
      delta(2, {
        now: 100_000,
        counters: { at: 100_000, count: 100, max: 1000, fill: 0.1, stats: { insert_failed: 16 } },
      }),
    );
    const k = computeKpis(s);
    expect(k.critical.map((f) => f.id)).toEqual(['137932478']);
    expect(k.criticalServices).toEqual(['kube-system/kube-dns:dns']);
    expect(k.badPerMinute).toBe(3);
    expect(k.tableFill).toBe(0.1);
    expect(k.insertFailedPerS).toBe(3);
    expect(counterRate(undefined, s.counters, 'insert_failed')).toBeUndefined();
    expect(badInLast([], 0, 60_000)).toBe(0);
  });
});

describe('timeline bins', () => {
  it('averages events per second and sums bad flows per bin, keeping empty bins', () => {
    const b = (t: number, NEW: number, bad = 0) => ({
      t,
      events: { NEW, UPDATE: 0, DESTROY: 0 },
      bad: bad ? { 'no-dnat': bad } : {},
    });
    const points = binTimeline([b(0, 10), b(1000, 20, 1), b(5000, 4)], 0, 6000, 3);
    expect(binWidthMs(6000, 3)).toBe(2000);
    expect(points.map((p) => p.NEW)).toEqual([15, 0, 2, 0]);
    expect(points[0]!['no-dnat']).toBe(1);
    expect(binTimeline([], 10, 5)).toEqual([]);
  });
});

describe('lifecycle lines', () => {
  it('marks every timeout reset between UNREPLIED readings', () => {
    const lines = lifecycleLines(
      [
        { at: 0, event: 'NEW', timeout: 30, unreplied: true },
        { at: 3000, event: 'LIST', timeout: 29, unreplied: true },
        { at: 6000, event: 'LIST', timeout: 26, unreplied: true },
        { at: 9000, event: 'LIST', timeout: 29, unreplied: true },
      ],
      [{ at: 12_000, timeout: 29, unreplied: true }],
    );
    expect(lines.map((l) => Boolean(l.reset))).toEqual([false, true, false, true, true]);
    expect(lines[3]!.reset).toEqual({ expected: 23, seen: 29 });
    expect(formatLifecycleLine(lines[3]!)).toMatch(
      /\[LIST\]\s+timeout=29 \[UNREPLIED\] ↻ timeout reset \(would be 23s, read 29s\)/,
    );
    expect(formatLifecycleLine({ at: 0, event: 'DESTROY', unreplied: false })).toMatch(/\[DESTROY\]$/);
  });
});

describe('service stats', () => {
  it('counts live flows per frontend, bad and critical ones apart', () => {
    const c = countByFrontend([
      incident(),
      flow('1'),
      flow('2', { destroyedAt: 5 }),
      flow('3', { frontend: undefined }),
    ]);
    expect(c.get('udp|10.43.0.10|53')).toEqual({
      byVerdict: { 'no-dnat': 1, ok: 1 },
      bad: 1,
      critical: 1,
      keptAlive: 1,
      total: 2,
    });
    expect(c.size).toBe(1);
  });

  it('counts blocked flows by verdict but not as bad (kube-proxy drops them on purpose)', () => {
    const c = countByFrontend([flow('1', { verdict: 'blocked', severity: 'ok' }), incident()]);
    expect(c.get('udp|10.43.0.10|53')).toMatchObject({ byVerdict: { blocked: 1, 'no-dnat': 1 }, bad: 1 });
  });
});

describe('verdict chips', () => {
  it('offer every verdict of the shared vocabulary, blocked just before ok', () => {
    expect(VERDICTS).toEqual(['no-dnat', 'stale-endpoint', 'no-endpoints', 'unanswered', 'blocked', 'ok']);
  });
});
