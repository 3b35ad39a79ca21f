import type { NatChange } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import { initialState, LIMITS } from '../src/domain/dashboard-state.js';
import { capFlows, mergeBuckets, reduce, reduceAll } from '../src/domain/flow-reducer.js';
import { delta, flow, incident, sync } from './support/fixtures.js';

const bucket = (t: number, NEW = 1) => ({ t, events: { NEW, UPDATE: 0, DESTROY: 0 }, bad: {} });

describe('flow reducer', () => {
  it('takes node, mode and permissions from hello', () => {
    const s = reduce(initialState(), {
      type: 'hello',
      version: 2,
      mode: 'replay',
      instance: 'run-1',
      node: { name: 'n1' },
      allowDelete: true,
      intervals: { suspectPollMs: 2000, natPollMs: 1000, countersPollMs: 2000 },
      sources: [{ name: 'events', state: 'running', restarts: 0, since: 1 }],
      window: { rows: 500, maxRange: 1000 },
    });
    expect(s.mode).toBe('replay');
    expect(s.hello?.node.name).toBe('n1');
    expect(s.hello?.allowDelete).toBe(true);
    expect(s.sources).toHaveLength(1);
  });

  it('replaces everything on sync', () => {
    const s0 = reduce(
      initialState(),
      sync(5, { flows: [flow('1'), flow('2')], timeline: [bucket(2000), bucket(1000)] }),
    );
    const s1 = reduce(s0, sync(9, { flows: [incident()], eventLoss: 2 }));
    expect([...s1.flows.keys()]).toEqual(['137932478']);
    expect(s1.seq).toBe(9);
    expect(s1.synced).toBe(true);
    expect(s1.eventLoss).toBe(2);
    expect(s1.generation).toBe(s0.generation + 1);
    expect(s0.timeline.map((b) => b.t)).toEqual([1000, 2000]);
  });

  it('applies deltas in sequence: upserts, removals, rates, markers, counters, sources', () => {
    let s = reduce(
      initialState(),
      sync(1, {
        flows: [flow('1'), flow('2')],
        timeline: [bucket(1000)],
        counters: { at: 1, stats: { insert_failed: 1 } },
      }),
    );
    s = reduce(
      s,
      delta(2, {
        upserts: [incident(), flow('1', { verdict: 'unanswered', severity: 'warning' })],
        removals: ['2'],
        rates: [bucket(1000, 5), bucket(2000, 7)],
        markers: [{ t: 1500, kind: 'gap', reason: 'enobufs', text: 'event loss' }],
        counters: { at: 2001, stats: { insert_failed: 5 } },
        sources: [{ name: 'events', state: 'failed', restarts: 1, since: 2000, lastError: 'boom' }],
        eventLoss: 1,
      }),
    );
    expect(s.seq).toBe(2);
    expect([...s.flows.keys()].sort()).toEqual(['1', '137932478']);
    expect(s.flows.get('1')?.verdict).toBe('unanswered');
    expect(s.timeline.map((b) => [b.t, b.events.NEW])).toEqual([
      [1000, 5],
      [2000, 7],
    ]);
    expect(s.markers).toHaveLength(1);
    expect(s.prevCounters?.stats.insert_failed).toBe(1);
    expect(s.counters?.stats.insert_failed).toBe(5);
    expect(s.sources[0]?.state).toBe('failed');
    expect(s.eventLoss).toBe(1);
  });

  it('ignores deltas before the first sync and duplicates, and flags a gap in the sequence for resync', () => {
    const before = reduce(initialState(), delta(1, { upserts: [flow('1')] }));
    expect(before.flows.size).toBe(0);
    let s = reduce(initialState(), sync(10, { flows: [flow('1')] }));
    expect(reduce(s, delta(10, { removals: ['1'] }))).toBe(s);
    s = reduce(s, delta(12, { removals: ['1'] }));
    expect(s.needsResync).toBe(true);
    expect(s.flows.has('1')).toBe(true);
    expect(s.seq).toBe(10);
    // The resync answers with a sync, which clears the flag.
    s = reduce(s, sync(12, { flows: [] }));
    expect(s.needsResync).toBe(false);
    expect(s.flows.size).toBe(0);
  });

  it('resumes: deltas after a reconnect continue from the held seq', () => {
    let s = reduce(initialState(), sync(3, { flows: [flow('1')] }));
    s = reduce(s, { type: 'connection', connection: { status: 'reconnecting', attempt: 1 } });
    s = reduceAll(s, [
      { type: 'connection', connection: { status: 'open', attempt: 0 } },
      delta(4, { upserts: [flow('2')] }),
      delta(5, { upserts: [incident()] }),
    ]);
    expect(s.seq).toBe(5);
    expect(s.flows.size).toBe(3);
    expect(s.connection.status).toBe('open');
  });

  it('reset clears the data but keeps the connection; a local replay stays local through its hello', () => {
    let s = reduce(initialState(), sync(3, { flows: [flow('1')] }));
    s = reduce(s, { type: 'connection', connection: { status: 'open', attempt: 0 } });
    s = reduce(s, { type: 'reset', mode: 'local', recordingName: 'a.ndjson' });
    expect(s.flows.size).toBe(0);
    expect(s.seq).toBe(-1);
    expect(s.connection.status).toBe('open');
    expect(s.recordingName).toBe('a.ndjson');
    s = reduce(s, {
      type: 'hello',
      version: 2,
      mode: 'replay',
      instance: 'run-1',
      node: { name: 'n' },
      allowDelete: false,
      intervals: { suspectPollMs: 0, natPollMs: 0, countersPollMs: 0 },
      sources: [],
      window: { rows: 500, maxRange: 1000 },
    });
    expect(s.mode).toBe('local');
  });

  it('replaces the NAT history from REST and appends changes from deltas', () => {
    const change = (t: number): NatChange => ({
      t,
      from: `h${t}`,
      to: `h${t + 1}`,
      diff: { addedFrontends: [], removedFrontends: [], changedFrontends: [] },
    });
    let s = reduce(initialState(), sync(1));
    s = reduce(s, { type: 'nat-history', changes: [change(1), change(2)] });
    s = reduce(s, delta(2, { nat: [change(3)] }));
    expect(s.natChanges.map((c) => c.t)).toEqual([1, 2, 3]);
    s = reduce(s, { type: 'nat-history', changes: [change(1)] });
    expect(s.natChanges.map((c) => c.t)).toEqual([1]);
  });

  it('bounds memory: buckets, and flows evicted destroyed first, then healthy, bad ones last', () => {
    const many = Array.from({ length: 4000 }, (_, i) => bucket(i * 1000));
    expect(mergeBuckets([], many)).toHaveLength(3600);
    const m = new Map([
      ['a', flow('a', { lastSeen: 1 })],
      ['b', flow('b', { destroyedAt: 5, lastSeen: 5 })],
      ['c', incident({ id: 'c', lastSeen: 0 })],
      ['d', flow('d', { lastSeen: 9 })],
    ]);
    const capped = capFlows(m, 2);
    expect([...capped.keys()].sort()).toEqual(['c']);
    expect(capFlows(new Map([['x', flow('x')]]), 2).size).toBe(1);
  });

  it('keeps the critical index in step with upserts, removals, syncs and eviction', () => {
    const crit = (id: string, patch = {}) => incident({ id, ...patch });
    const cases: Array<{
      name: string;
      steps: (s: ReturnType<typeof initialState>) => ReturnType<typeof initialState>;
      critical: string[];
    }> = [
      { name: 'sync', steps: (s) => reduce(s, sync(1, { flows: [crit('a'), flow('b')] })), critical: ['a'] },
      {
        name: 'upsert turns critical',
        steps: (s) => reduceAll(s, [sync(1, { flows: [flow('a')] }), delta(2, { upserts: [crit('a')] })]),
        critical: ['a'],
      },
      {
        name: 'upsert turns healthy',
        steps: (s) => reduceAll(s, [sync(1, { flows: [crit('a')] }), delta(2, { upserts: [flow('a')] })]),
        critical: [],
      },
      {
        name: 'destroyed is not critical',
        steps: (s) =>
          reduceAll(s, [
            sync(1, { flows: [crit('a')] }),
            delta(2, { upserts: [crit('a', { destroyedAt: 5 })] }),
          ]),
        critical: [],
      },
      {
        name: 'removal',
        steps: (s) =>
          reduceAll(s, [sync(1, { flows: [crit('a'), crit('b')] }), delta(2, { removals: ['a'] })]),
        critical: ['b'],
      },
    ];
    for (const c of cases) {
      const s = c.steps(initialState());
      expect([...s.critical.keys()].sort(), c.name).toEqual(c.critical);
      for (const [id, f] of s.critical) expect(s.flows.get(id), c.name).toBe(f);
    }
  });

  it('bumps flowsVersion on every change to the flows and only then', () => {
    let s = reduce(initialState(), sync(1, { flows: [flow('a')] }));
    const v1 = s.flowsVersion;
    s = reduce(s, delta(2, { upserts: [flow('b')] }));
    expect(s.flowsVersion).toBe(v1 + 1);
    expect(s.flows.has('b')).toBe(true);
    s = reduce(s, delta(3, { rates: [bucket(1000)] }));
    expect(s.flowsVersion).toBe(v1 + 1);
    s = reduce(s, delta(4, { removals: ['a'] }));
    expect(s.flowsVersion).toBe(v1 + 2);
  });

  it('holds flows in last-update order (what eviction relies on)', () => {
    let s = reduce(initialState(), sync(1, { flows: [flow('a'), flow('b'), flow('c')] }));
    s = reduce(s, delta(2, { upserts: [flow('a', { lastSeen: 2000 })] }));
    expect([...s.flows.keys()]).toEqual(['b', 'c', 'a']);
  });

  it('evicts the least recently updated first within a rank, and drops evicted flows from the critical index', () => {
    const m = new Map([
      ['old', flow('old')],
      ['mid', flow('mid')],
      ['new', flow('new')],
    ]);
    // Updating `old` moves it to the newest end, as the reducer does.
    m.delete('old');
    m.set('old', flow('old', { lastSeen: 2 }));
    expect([...capFlows(m, 2).keys()]).toEqual(['old']);
    const critical = new Map([['c1', incident({ id: 'c1' })]]);
    const all = new Map([
      ['c1', incident({ id: 'c1' })],
      ['c2', incident({ id: 'c2' })],
      ['ok', flow('ok')],
    ]);
    critical.set('c2', all.get('c2')!);
    capFlows(all, 2, critical);
    expect([...all.keys()]).toEqual(['c2']);
    expect([...critical.keys()]).toEqual(['c2']);
  });

  it('holds at most the server sync size from a server, and more from a recording replayed here', () => {
    const many = Array.from({ length: LIMITS.serverFlows + 50 }, (_, i) => flow(`f${i}`));
    const live = reduce(initialState('live'), sync(1, { flows: many }));
    expect(live.flows.size).toBeLessThanOrEqual(LIMITS.serverFlows);
    const local = reduce(initialState('local'), sync(1, { flows: many }));
    expect(local.flows.size).toBe(many.length);
  });

  it('keeps the server total and counts; a range answer updates the total, not the window', () => {
    let s = reduce(initialState(), sync(1, { flows: [flow('1')], total: 50_000, truncated: true }));
    expect(s.total).toBe(50_000);
    expect(s.truncated).toBe(true);
    s = reduce(s, delta(2, { total: 50_001 }));
    expect(s.total).toBe(50_001);
    s = reduce(s, { type: 'rows', id: 7, seq: 2, offset: 40_000, total: 50_002, flows: [flow('40001')] });
    expect(s.total).toBe(50_002);
    // Range rows are not window rows: the window keeps only what the server keeps current.
    expect(s.flows.has('40001')).toBe(false);
  });
});
