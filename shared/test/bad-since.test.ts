import { describe, expect, it } from 'vitest';
import { EngineCore } from '../src/engine/engine-core.js';
import type { FlowReport } from '../src/flows/flow-report.js';
import { parseNatSnapshot } from '../src/nat/parse-nat-snapshot.js';
import type { RecordingRecord } from '../src/recording/recording-format.js';
import { RecordingPlayer } from '../src/recording/recording-player.js';
import { fixture } from './fixtures.js';

// The seed incident's story (ms): rules removed, then back after the un-DNATed entries were created.
const T = { start: 1_795_689_887_000, rulesRemoved: 1_795_689_891_800, rulesBack: 1_795_689_893_000 };
const nat = (name: string) => parseNatSnapshot(fixture(`seed-incident/${name}`));

/**
 * Its inputs in arrival order: NAT snapshots and every `conntrack -E` line at its own timestamp. Without
 * `gapSeen`, the NAT poller missed the gap (it is shorter than a poll, or the poll was late): the un-DNATed
 * entries are then bad from their NEW event, while ctscope still sees the rules.
 */
function seedInputs(gapSeen = true): RecordingRecord[] {
  const recs: RecordingRecord[] = [
    { k: 'nat', t: T.start, snapshot: nat('nat-before.txt') },
    ...(gapSeen ? [{ k: 'nat', t: T.rulesRemoved, snapshot: nat('nat-during.txt') } as const] : []),
    { k: 'nat', t: T.rulesBack, snapshot: nat('nat-after.txt') },
  ];
  for (const line of fixture('seed-incident/events-ts-ext-id.txt').split('\n')) {
    const m = /^\[(\d+\.\d+)\]/.exec(line);
    if (m) recs.push({ k: 'line', t: Math.round(Number(m[1]) * 1000), src: 'events', line });
  }
  return recs.sort((a, b) => a.t - b.t);
}

/**
 * The live agent: inputs reach the core `lagMs` after their time (the event tail hands lines over in batches), and
 * the hub flushes on its own wall-clock timer (off the inputs' times by `phaseMs`), reading the table only then;
 * so a flush can run between an input's time and its arrival.
 */
function live(inputs: readonly RecordingRecord[], flushEveryMs: number, phaseMs: number, lagMs = 0) {
  const core = new EngineCore();
  const alerts: Array<{ t: number; flowId?: string; state: string }> = [];
  let nextFlush = inputs[0]!.t + phaseMs;
  const flushUntil = (t: number) => {
    for (; nextFlush <= t; nextFlush += flushEveryMs) alerts.push(...core.flush(nextFlush).alerts);
  };
  for (const r of inputs) {
    flushUntil(r.t + lagMs);
    if (r.k === 'nat') core.onNat(r.snapshot, r.t);
    else if (r.k === 'line') core.onEventLine(r.line, r.t);
  }
  flushUntil(inputs.at(-1)!.t + 5000);
  return { flows: core.store.select(undefined, 1000).flows, alerts };
}

/** `ctscope replay` and the post-mortem: the recording player, which judges at each record's time. */
function replay(inputs: readonly RecordingRecord[]) {
  const p = new RecordingPlayer(inputs);
  p.advanceTo(inputs.at(-1)!.t + 5000);
  const alerts = p.core.flush(p.core.store.now).alerts;
  return { flows: p.core.store.select(undefined, 1000).flows, alerts };
}

const byId = (flows: FlowReport[]) => new Map(flows.map((f) => [f.id, f]));

describe('badSince: one time for a flow turning bad, live and in a replay of its recording', () => {
  it.each([
    { name: 'gap seen, the hub flushing every 100 ms', gapSeen: true, flushEveryMs: 100, phaseMs: 37 },
    {
      name: 'gap seen, a slow hub (a loaded node): every 1.8 s',
      gapSeen: true,
      flushEveryMs: 1800,
      phaseMs: 911,
    },
    { name: 'gap missed (bad from NEW), every 100 ms', gapSeen: false, flushEveryMs: 100, phaseMs: 37 },
    { name: 'gap missed (bad from NEW), every 1.8 s', gapSeen: false, flushEveryMs: 1800, phaseMs: 911 },
    {
      name: 'gap seen, inputs arriving 8 ms late with a flush every 3 ms in between',
      gapSeen: true,
      flushEveryMs: 3,
      phaseMs: 1,
      lagMs: 8,
    },
    {
      name: 'gap missed (bad from NEW), inputs arriving 8 ms late with a flush every 3 ms in between',
      gapSeen: false,
      flushEveryMs: 3,
      phaseMs: 1,
      lagMs: 8,
    },
  ])('$name', ({ gapSeen, flushEveryMs, phaseMs, lagMs }) => {
    const inputs = seedInputs(gapSeen);
    const l = live(inputs, flushEveryMs, phaseMs, lagMs);
    const r = replay(inputs);
    const replayed = byId(r.flows);
    const bad = l.flows.filter((f) => f.severity !== 'ok' && f.destroyedAt === undefined);
    // The incident: entries created in the rule gap, never DNATed, critical once the rules are back.
    const incident = bad.find((f) => f.id === '137932478');
    expect(incident).toMatchObject({ verdict: 'no-dnat', severity: 'critical' });
    for (const f of l.flows) {
      const rf = replayed.get(f.id)!;
      expect(rf.severity, f.id).toBe(f.severity);
      if (f.severity === 'ok') {
        expect(f.badSince, f.id).toBeUndefined();
        continue;
      }
      // Stamped with the time of the input that showed it (the rules coming back, or the entry's NEW event when
      // the rules never seemed gone), not a flush's time.
      expect(rf.badSince, f.id).toBeDefined();
      if (f.verdict === 'no-dnat')
        expect([f.id, f.badSince]).toEqual([f.id, gapSeen ? T.rulesBack : f.createdAt]);
      expect([f.id, f.badSince]).toEqual([f.id, rf.badSince]);
    }
    // The alert a flow raised carries the same time.
    const raised = (a: typeof l.alerts) =>
      a
        .filter((x) => x.state === 'raised')
        .map((x) => `${x.flowId}@${x.t}`)
        .sort();
    expect(raised(l.alerts)).toEqual(raised(r.alerts));
    if (gapSeen) expect(raised(l.alerts)).toContain(`137932478@${T.rulesBack}`);
  });

  it('a flow bad for less than one flush still raises and clears its alert, at the times a replay gives', () => {
    // Never DNATed while the rules are in place, then destroyed 40 ms later: both before the hub's next flush.
    const t0 = T.rulesBack + 10_000;
    const entry =
      'udp      17 30 src=10.42.0.77 dst=10.43.0.10 sport=53001 dport=53 [UNREPLIED] src=10.43.0.10 dst=10.42.0.77 sport=53 dport=53001 id=4242';
    const inputs: RecordingRecord[] = [
      { k: 'nat', t: t0, snapshot: nat('nat-after.txt') },
      { k: 'line', t: t0 + 10, src: 'events', line: `    [NEW] ipv4     2 ${entry}` },
      { k: 'line', t: t0 + 50, src: 'events', line: `[DESTROY] ipv4     2 ${entry.replace(' 30 ', ' ')}` },
    ];
    const l = live(inputs, 100, 90);
    const r = replay(inputs);
    const of4242 = (a: typeof l.alerts) =>
      a.filter((x) => x.flowId === '4242').map((x) => `${x.state}@${x.t}`);
    expect(of4242(r.alerts)).toEqual([`raised@${t0 + 10}`, `cleared@${t0 + 50}`]);
    expect(of4242(l.alerts)).toEqual(of4242(r.alerts));
  });

  it('clears when the flow is ok again, and restarts when it turns bad again', () => {
    const inputs = seedInputs();
    const later = T.rulesBack + 60_000;
    const core = new EngineCore();
    for (const r of inputs) {
      if (r.k === 'nat') core.onNat(r.snapshot, r.t);
      else if (r.k === 'line') core.onEventLine(r.line, r.t);
    }
    core.flush(T.rulesBack + 500);
    expect(core.store.get('137932478')?.report.badSince).toBe(T.rulesBack);
    // Rules gone again: the entry is not "not DNATed" any more (nothing to DNAT to): ok, no badSince.
    core.onNat(nat('nat-during.txt'), later);
    core.flush(later + 500);
    expect(core.store.get('137932478')?.report).toMatchObject({ severity: 'ok' });
    expect(core.store.get('137932478')?.report.badSince).toBeUndefined();
    core.onNat(nat('nat-after.txt'), later + 1000);
    core.flush(later + 1500);
    expect(core.store.get('137932478')?.report.badSince).toBe(later + 1000);
  });
});
