/** A dump recorded the way the live agent records it (quiet lines as `listed` readings) replays to the live state. */
import { describe, expect, it } from 'vitest';
import {
  EngineCore,
  type ListedReading,
  quietRuns,
  RecordingPlayer,
  type RecordingRecord,
} from '../src/index.js';

const T0 = 1_795_689_000_000;
const tuple = (sport: number) =>
  `src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=10.43.0.10 dst=10.42.0.33 sport=53 dport=${sport}`;
const NEW = (n: number) => `    [NEW] ipv4     2 udp      17 30 ${tuple(40000 + n)} id=${n}`;
const DESTROY = (n: number) => `[DESTROY] ipv4     2 udp      17 ${tuple(40000 + n)} id=${n}`;
const LIST = (n: number, timeout: number) =>
  `ipv4     2 udp      17 ${timeout} ${tuple(40000 + n)} mark=0 use=1 id=${n}`;

type Step = { event: string; t: number } | { chunk: string[] } | { end: true } | { flush: number };

/** Feeds `steps` to a live core and records them as NodeAgent does; the dump ran from `startedAt` to `at`. */
function runLive(steps: Step[], startedAt: number, at: number) {
  const core = new EngineCore();
  const records: RecordingRecord[] = [{ k: 'header', t: T0, v: 2, node: 'n', writer: 'test' }];
  let open = false;
  for (const s of steps) {
    if ('event' in s) {
      core.onEventLine(s.event, s.t);
      records.push({ k: 'line', t: s.t, src: 'events', line: s.event });
    } else if ('chunk' in s) {
      const readings = new Array<ListedReading | undefined>(s.chunk.length);
      core.onDumpLines('full', s.chunk, at, startedAt, readings);
      if (!open) records.push({ k: 'dump', t: startedAt, phase: 'begin', scope: 'full' });
      open = true;
      for (const run of quietRuns(s.chunk, readings)) {
        if ('listed' in run) records.push({ k: 'listed', t: at, src: 'dump', flows: run.listed });
        else for (const line of run.lines) records.push({ k: 'line', t: at, src: 'dump', line });
      }
    } else if ('end' in s) {
      core.onDumpEnd('full', at, startedAt);
      records.push({ k: 'dump', t: at, phase: 'end', scope: 'full' });
    } else core.flush(s.flush);
  }
  return { core, records };
}

const byId = (core: EngineCore) => core.store.reports().sort((a, b) => (a.id < b.id ? -1 : 1));

describe('dumps recorded with quiet readings', () => {
  const startedAt = T0 + 6000;
  const at = T0 + 9000;
  const steps: Step[] = [
    ...[1, 2, 3, 4, 5, 6].map((n) => ({ event: NEW(n), t: T0 + n })),
    { flush: T0 + 100 },
    // 1, 2: counted down (quiet); 3: reset (a change).
    { chunk: [LIST(1, 22), LIST(2, 23), LIST(3, 30)] },
    // Between two chunks: 5 is destroyed, after the dump started.
    { event: DESTROY(5), t: at + 50 },
    { flush: at + 60 },
    // 4: quiet; 5: listed before its DESTROY (stale); 7: not seen before.
    { chunk: [LIST(4, 21), LIST(5, 22), LIST(7, 28)] },
    // 6 was not listed: it retires.
    { end: true },
  ];

  it('records quiet lines as listed readings and the rest raw, in order', () => {
    const { records } = runLive(steps, startedAt, at);
    const dumpRecords = records
      .filter((r) => r.k === 'listed' || (r.k === 'line' && r.src === 'dump'))
      .map((r) => (r.k === 'listed' ? r.flows.map((f) => f[0]) : r.k === 'line' ? r.line.slice(-4) : ''));
    expect(dumpRecords).toEqual([['1', '2'], 'id=3', ['4'], 'id=5', 'id=7']);
    expect(records.find((r) => r.k === 'listed')).toMatchObject({
      flows: [
        ['1', 22, 0],
        ['2', 23, 0],
      ],
    });
  });

  it('replays to the live state: timeouts, times, verdicts, retirements', () => {
    const { core, records } = runLive(steps, startedAt, at);
    const player = new RecordingPlayer(records);
    player.advanceTo(at + 100);
    core.store.settleNow(at + 100);
    player.core.store.settleNow(at + 100);
    const live = byId(core);
    expect(live.map((f) => [f.id, f.timeout, f.destroyedAt !== undefined])).toEqual([
      ['1', 22, false],
      ['2', 23, false],
      ['3', 30, false],
      ['4', 21, false],
      ['5', 30, true],
      ['6', 30, true],
      ['7', 28, false],
    ]);
    expect(byId(player.core)).toEqual(live);
  });

  it('replays to the live state when two flows share a conntrack id (a 32-bit hash)', () => {
    // 1 and 2 share id 9. A line of 1 finds 2 by the id: live indexes 2 by its tuple on the way, so only lines
    // found by their own id may be recorded as readings. Then 2's tuple comes back with a new id (its DESTROY
    // was missed): live retires 2, and so must the replay.
    const SHARED = (n: number, rest: string) => `${rest} ${tuple(40000 + n)} id=9`;
    const clash: Step[] = [
      { event: SHARED(1, '    [NEW] ipv4     2 udp      17 30'), t: T0 + 1 },
      { event: SHARED(2, '    [NEW] ipv4     2 udp      17 30'), t: T0 + 2 },
      {
        chunk: [
          SHARED(2, 'ipv4     2 udp      17 22').replace(' id=9', ' mark=0 use=1 id=9'),
          SHARED(1, 'ipv4     2 udp      17 22').replace(' id=9', ' mark=0 use=1 id=9'),
        ],
      },
      { end: true },
      { event: `    [NEW] ipv4     2 udp      17 30 ${tuple(40002)} id=77`, t: at + 100 },
    ];
    const { core, records } = runLive(clash, startedAt, at);
    expect(records.filter((r) => r.k === 'listed')).toHaveLength(1);
    const player = new RecordingPlayer(records);
    player.advanceTo(at + 200);
    core.store.settleNow(at + 200);
    player.core.store.settleNow(at + 200);
    const live = byId(core);
    expect(live.filter((f) => f.destroyedAt === undefined).map((f) => f.id)).toEqual(['77', '9']);
    expect(byId(player.core)).toEqual(live);
  });
});
