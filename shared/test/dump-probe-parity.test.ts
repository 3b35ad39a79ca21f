/** A dump's lines read by the quick probe leave the live table exactly as the full parser leaves it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeListingLine } from '../src/conntrack/listing-probe.js';
import { FlowStore, type ListedReading, parseIptablesSave } from '../src/index.js';
import { FIXTURES } from './fixtures.js';

const NAT = parseIptablesSave(readFileSync(join(FIXTURES, 'seed-incident', 'nat-after.txt'), 'utf8'));
const T0 = 1_795_689_000_000;
const CLIENT = '10.42.0.33';
const VIP = '10.43.0.10';
const POD = '172.20.112.199';

interface Flow {
  id: number;
  sport: number;
  /** Reply source: the endpoint (DNAT done) or the VIP itself (no DNAT). */
  rsrc?: string;
  unreplied?: boolean;
  assured?: boolean;
  mark?: number;
  v6?: boolean;
  counters?: number;
}

function tuples(f: Flow): string {
  const [c, v, p] = f.v6 ? ['fd00:10:42::21', 'fd00:10:43::a', 'fd00:10:42::5'] : [CLIENT, VIP, POD];
  const rsrc = f.v6 ? p : (f.rsrc ?? p);
  const acct = (n: number | undefined) => (n === undefined ? '' : ` packets=${n} bytes=${n * 60}`);
  return `src=${c} dst=${v} sport=${f.sport} dport=53${acct(f.counters)}${f.unreplied === false ? '' : ' [UNREPLIED]'} src=${rsrc} dst=${c} sport=53 dport=${f.sport}${acct(f.counters === undefined ? undefined : 0)}${f.assured ? ' [ASSURED]' : ''}`;
}
const l3 = (f: Flow) => (f.v6 ? 'ipv6     10' : 'ipv4     2');
const NEW = (f: Flow) => `    [NEW] ${l3(f)} udp      17 30 ${tuples(f)} id=${f.id}`;
const DESTROY = (f: Flow) => `[DESTROY] ${l3(f)} udp      17 ${tuples(f)} id=${f.id}`;
const LIST = (f: Flow, timeout: number) =>
  `${l3(f)} udp      17 ${timeout} ${tuples(f)} mark=${f.mark ?? 0} use=1 id=${f.id}`;

type Step = { event: string; t: number } | { dump: string[]; startedAt: number; at: number; end?: boolean };

const quiet = { id: 1, sport: 40001 };
const turnsNoDnat = { id: 2, sport: 40002 };
const keptAlive = { id: 3, sport: 52001, rsrc: VIP };
const answered = { id: 4, sport: 40004 };
const marked = { id: 5, sport: 40005 };
const destroyedMeanwhile = { id: 6, sport: 40006 };
const dumpOnly = { id: 7, sport: 40007 };
const sharesId = { id: 1, sport: 40008 };
const v6 = { id: 9, sport: 40009, v6: true };
const counted = { id: 10, sport: 40010, counters: 1 };
const notListed = { id: 11, sport: 40011 };
const bigId = { id: 3_000_000_000, sport: 40012 };
const assuredLater = { id: 13, sport: 40013, unreplied: false };

const STEPS: Step[] = [
  ...[
    quiet,
    turnsNoDnat,
    keptAlive,
    answered,
    marked,
    destroyedMeanwhile,
    v6,
    counted,
    notListed,
    bigId,
    assuredLater,
  ].map((f, n) => ({ event: NEW(f), t: T0 + n })),
  { event: NEW(sharesId), t: T0 + 20 },
  {
    startedAt: T0 + 6000,
    at: T0 + 8000,
    dump: [
      LIST(quiet, 24),
      LIST({ ...turnsNoDnat, rsrc: VIP }, 24),
      LIST(keptAlive, 30),
      LIST({ ...answered, unreplied: false, assured: true }, 119),
      LIST(marked, 24),
      LIST(v6, 24),
      LIST({ ...counted, counters: 3 }, 24),
      LIST(sharesId, 24),
      LIST(bigId, 24),
      LIST({ ...assuredLater, assured: true }, 24),
    ],
  },
  { event: DESTROY(destroyedMeanwhile), t: T0 + 8100 },
  {
    startedAt: T0 + 6000,
    at: T0 + 8200,
    end: true,
    dump: [LIST(destroyedMeanwhile, 23), LIST(dumpOnly, 25), LIST(quiet, 23)],
  },
  // A second dump: flows learnt from the first one's lines, and a mark that changes.
  {
    startedAt: T0 + 20_000,
    at: T0 + 20_500,
    end: true,
    dump: [
      LIST(quiet, 10),
      LIST({ ...turnsNoDnat, rsrc: VIP }, 10),
      LIST(keptAlive, 30),
      LIST({ ...answered, unreplied: false, assured: true }, 107),
      LIST({ ...marked, mark: 1 }, 11),
      LIST(dumpOnly, 12),
      LIST(v6, 10),
      LIST({ ...counted, counters: 9 }, 10),
      LIST(sharesId, 10),
      LIST(bigId, 10),
      LIST({ ...assuredLater, assured: true }, 10),
    ],
  },
];

/** Runs the steps, each dump line as given or through `variant`; returns the store and each dump's readings. */
function run(variant: (line: string) => string, scope: 'full' | 'poll' = 'full') {
  const s = new FlowStore();
  s.setNat(NAT, T0 - 1000);
  const readings: Array<Array<ListedReading | undefined>> = [];
  for (const step of STEPS) {
    if ('event' in step) {
      s.ingestEventLine(step.event, step.t);
      continue;
    }
    const lines = step.dump.map(variant);
    const r = new Array<ListedReading | undefined>(lines.length);
    s.ingestDumpLines(scope, lines, step.at, step.startedAt, r);
    readings.push(r);
    if (step.end && scope === 'full') s.endFullDump(step.at, step.startedAt);
    s.settleNow(step.at + 10);
  }
  s.settleNow(T0 + 30_000);
  const flows = s
    .reports()
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((report) => {
      const flow = s.get(report.id)!.flow;
      return { report, history: flow.history, lastSeen: flow.lastSeen, record: { ...flow.record } };
    });
  return { flows, readings };
}

/** The parser reads a trailing tab as blank space; the probe leaves such a line to it. */
const parsedOnly = (line: string) => `${line}\t`;

describe('dump lines read by the probe', () => {
  const dumpLines = STEPS.flatMap((s) => ('dump' in s ? s.dump : []));

  it('reads every dump line of the scenario, and none with a trailing tab', () => {
    for (const line of dumpLines) {
      expect(probeListingLine(line), line).toBeDefined();
      expect(probeListingLine(parsedOnly(line)), line).toBeUndefined();
    }
  });

  it('leaves the table as the parser does: records, verdicts, histories, readings', () => {
    const probed = run((l) => l);
    const parsed = run(parsedOnly);
    expect(probed.flows).toEqual(parsed.flows);
    expect(probed.readings).toEqual(parsed.readings);
    // Quiet lines in the first and last chunks (a line found through another flow's id is never one).
    expect(probed.readings.map((r) => r.filter(Boolean).length)).toEqual([4, 0, 7]);
  });

  it.each([
    {
      name: 'a reply tuple that lost its DNAT',
      id: '2',
      expected: { verdict: 'no-dnat', reply: { src: VIP } },
    },
    { name: 'a timeout reset (kept alive)', id: '3', expected: { keptAlive: true } },
    { name: 'an answer', id: '4', expected: { verdict: 'ok', unreplied: false } },
    { name: 'a DESTROY after the dump started (stale line)', id: '6', expected: { destroyed: true } },
    { name: 'a flow first seen in the dump', id: '7', expected: { verdict: 'unanswered', destroyed: false } },
  ])('sees $name', ({ id, expected }) => {
    const f = run((l) => l).flows.find((x) => x.report.id === id)!;
    const got = {
      verdict: f.report.verdict,
      reply: { src: f.report.reply.src },
      keptAlive: f.report.keptAlive,
      unreplied: f.record.unreplied,
      destroyed: f.report.destroyedAt !== undefined,
    };
    expect(got).toMatchObject(expected);
  });

  it('leaves the table as the parser does when the lines come from targeted polls', () => {
    const probed = run((l) => l, 'poll');
    expect(probed).toEqual(run(parsedOnly, 'poll'));
    expect(probed.readings.flat().filter(Boolean).length).toBeGreaterThan(0);
  });

  it('takes a mark that changes as a change, and one first learnt as a reading', () => {
    const { flows, readings } = run((l) => l);
    expect(flows.find((x) => x.report.id === '5')?.record.mark).toBe(1);
    // First dump: flow 5's line (index 4) is quiet, learning mark 0; second dump: mark 1 is not.
    expect(readings[0]?.[4]).toEqual(['5', 24, 0]);
    expect(readings[2]?.[4]).toBeUndefined();
  });
});
