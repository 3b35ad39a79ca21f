import { describe, expect, it } from 'vitest';
import { RecordingPlayer, type RecordingRecord } from '../src/index.js';

const T0 = 1_795_689_000_000;
const NEW = (sport: number, id: number) =>
  `    [NEW] udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=10.43.0.10 dst=10.42.0.33 sport=53 dport=${sport} id=${id}`;
const LIST = (sport: number, id: number) =>
  `udp      17 29 src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=10.43.0.10 dst=10.42.0.33 sport=53 dport=${sport} mark=0 use=1 id=${id}`;

const records: RecordingRecord[] = [
  { k: 'header', t: T0, v: 1, node: 'n', writer: 'test' } as RecordingRecord,
  { k: 'line', t: T0 + 1, src: 'events', line: NEW(1001, 11) },
  { k: 'line', t: T0 + 2, src: 'events', line: NEW(1002, 12) },
  { k: 'gap', t: T0 + 3, reason: 'enobufs' },
  { k: 'dump', t: T0 + 10_000, phase: 'begin', scope: 'full' },
  { k: 'line', t: T0 + 10_001, src: 'dump', line: LIST(1001, 11) },
  { k: 'dump', t: T0 + 10_002, phase: 'end', scope: 'full' },
  { k: 'deleted', t: T0 + 11_000, id: '11', argv: [] },
  { k: 'gap', t: T0 + 12_000, reason: 'server-stop', detail: 'bye' },
];

describe('RecordingPlayer', () => {
  it('feeds events, dumps (retiring absent flows), loss, deletes and gaps into the core', () => {
    const p = new RecordingPlayer(records);
    p.advanceTo(T0 + 5);
    expect(p.core.eventLoss()).toBe(1);
    expect(
      p.core.store
        .reports()
        .map((f) => f.id)
        .sort(),
    ).toEqual(['11', '12']);
    p.advanceTo(T0 + 10_002);
    const byId = new Map(p.core.store.reports().map((f) => [f.id, f]));
    expect(byId.get('11')?.destroyedAt).toBeUndefined();
    expect(byId.get('12')?.destroyedAt).toBe(T0 + 10_002);
    p.advanceTo(T0 + 12_000);
    expect(p.core.store.reports().find((f) => f.id === '11')?.destroyedAt).toBe(T0 + 11_000);
    expect(p.core.markers().map((m) => m.text)).toContain('bye');
    expect(p.reset).toBe(false);
  });

  it('rebuilds from the start when seeking backwards, and says so', () => {
    const p = new RecordingPlayer(records);
    p.advanceTo(T0 + 12_000);
    const before = p.core;
    expect(p.advanceTo(T0 + 1)).toBe(true);
    expect(p.reset).toBe(true);
    expect(p.core).not.toBe(before);
    expect(p.core.store.reports().map((f) => f.id)).toEqual(['11']);
    expect(p.core.eventLoss()).toBe(0);
  });
});

describe('RecordingPlayer with a suspect poll recorded inside a long full dump', () => {
  it('keeps both dumps apart and applies the full one whole', () => {
    const interleaved: RecordingRecord[] = [
      { k: 'line', t: T0 + 1, src: 'events', line: NEW(1001, 11) },
      { k: 'line', t: T0 + 2, src: 'events', line: NEW(1002, 12) },
      // Sorted by time, as loadRecording does: the poll finished while the full dump was still running.
      { k: 'dump', t: T0 + 10_000, phase: 'begin', scope: 'full' },
      { k: 'dump', t: T0 + 10_500, phase: 'begin', scope: 'poll' },
      { k: 'line', t: T0 + 10_500, src: 'poll', line: LIST(1002, 12) },
      { k: 'dump', t: T0 + 10_500, phase: 'end', scope: 'poll' },
      { k: 'line', t: T0 + 12_000, src: 'dump', line: LIST(1001, 11) },
      { k: 'dump', t: T0 + 12_000, phase: 'end', scope: 'full' },
    ];
    const p = new RecordingPlayer(interleaved);
    p.advanceTo(T0 + 12_000);
    const byId = new Map(p.core.store.reports().map((f) => [f.id, f]));
    // 11 was listed by the full dump; 12 was seen by the poll after the full dump began, so it is not retired.
    expect(byId.get('11')?.destroyedAt).toBeUndefined();
    expect(byId.get('12')?.destroyedAt).toBeUndefined();
    expect(byId.get('11')?.lastSeen).toBe(T0 + 12_000);
  });
});
