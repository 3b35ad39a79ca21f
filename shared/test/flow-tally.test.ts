import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowStore, type NatSnapshot, parseIptablesSave, type StoreStats } from '../src/index.js';
import { countBySeverity, countByVerdict } from '../src/verdict/verdicts.js';
import { FIXTURES } from './fixtures.js';

// The store's counts are kept as flows change, not recounted: after every step they must equal a full pass.
const SEED = join(FIXTURES, 'seed-incident');
const nat = (f: string): NatSnapshot => parseIptablesSave(readFileSync(join(SEED, f), 'utf8'));
const after = nat('nat-after.txt');
const during = nat('nat-during.txt');

const tuple = (sport: number, replySrc: string) =>
  `src=10.42.0.33 dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=${replySrc} dst=10.42.0.33 sport=53 dport=${sport}`;
/** A flow to the ClusterIP: DNATed to the endpoint (healthy), or not (reply source the ClusterIP: no-dnat). */
const NEW = (sport: number, id: number, dnat = true) =>
  `[1795689888.889204]\t    [NEW] ipv4     2 udp      17 30 ${tuple(sport, dnat ? '172.20.112.199' : '10.43.0.10')} id=${id}`;
const DESTROY = (sport: number, id: number, dnat = true) =>
  `[1795689891.854440]\t[DESTROY] ipv4     2 udp      17 ${tuple(sport, dnat ? '172.20.112.199' : '10.43.0.10')} id=${id}`;
const LIST = (sport: number, id: number, timeout: number, dnat = true) =>
  `ipv4     2 udp      17 ${timeout} ${tuple(sport, dnat ? '172.20.112.199' : '10.43.0.10')} mark=0 use=1 id=${id}`;
const PLAIN = (sport: number, id: number) =>
  `[1795689888.889204]\t    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.99.0.1 sport=${sport} dport=9 [UNREPLIED] src=10.99.0.1 dst=10.42.0.33 sport=9 dport=${sport} id=${id}`;

/** The counts by a pass over every flow (as `stats()` made them before the tally): what the tally must equal. */
function recount(s: FlowStore): Pick<StoreStats, 'live' | 'byVerdict' | 'bySeverity' | 'badByService'> {
  s.stats(); // judges what is pending
  const byVerdict = countByVerdict();
  const bySeverity = countBySeverity();
  const badByService: StoreStats['badByService'] = {};
  let live = 0;
  for (const f of s.exportState().tracker.flows) {
    if (f.destroyedAt !== undefined) continue;
    const v = f.verdict!;
    live++;
    byVerdict[v.verdict]++;
    bySeverity[v.severity]++;
    if (v.severity !== 'ok') {
      const key = v.service ?? '';
      const n = badByService[key] ?? { critical: 0, warning: 0 };
      n[v.severity]++;
      badByService[key] = n;
    }
  }
  return { live, byVerdict, bySeverity, badByService };
}

type Step = (s: FlowStore) => void;
const cases: Array<{ name: string; maxFlows?: number; steps: Step[]; live: number }> = [
  {
    name: 'new flows, good and bad, then one destroyed',
    steps: [
      (s) => s.setNat(after, 1000),
      (s) => s.ingestEventLine(NEW(1001, 1), 1000),
      (s) => s.ingestEventLine(NEW(1002, 2, false), 1000),
      (s) => s.ingestEventLine(PLAIN(1003, 3), 1000),
      (s) => s.ingestEventLine(DESTROY(1001, 1), 2000),
    ],
    live: 2,
  },
  {
    name: 'a late DESTROY for a flow already gone counts once',
    steps: [
      (s) => s.setNat(after, 1000),
      (s) => s.ingestEventLine(NEW(1001, 1, false), 1000),
      (s) => s.ingestEventLine(DESTROY(1001, 1, false), 2000),
      (s) => s.ingestEventLine(DESTROY(1001, 1, false), 2100),
    ],
    live: 0,
  },
  {
    name: 'a NAT change re-judges every flow (critical turns warning)',
    steps: [
      (s) => s.setNat(after, 1000),
      (s) => s.ingestEventLine(NEW(1002, 2, false), 1000),
      (s) => s.ingestEventLine(NEW(1004, 4, false), 1000),
      (s) => s.setNat(during, 2000),
      (s) => s.setNat(after, 3000),
    ],
    live: 2,
  },
  {
    name: 'a second NEW with the same id supersedes the flow whose DESTROY was missed',
    steps: [
      (s) => s.setNat(after, 1000),
      (s) => s.ingestEventLine(NEW(1005, 5, false), 1000),
      (s) => s.ingestEventLine(NEW(1005, 5, false), 2000),
    ],
    live: 1,
  },
  {
    name: 'a full dump retires the flows it no longer lists and adds the ones it finds',
    steps: [
      (s) => s.setNat(after, 1000),
      (s) => s.ingestEventLine(NEW(1001, 1), 1000),
      (s) => s.ingestEventLine(NEW(1002, 2, false), 1000),
      (s) => s.ingestDump('full', [LIST(1002, 2, 20, false), LIST(1007, 7, 25)], 11_000, 10_000),
    ],
    live: 2,
  },
  {
    name: 'flows age into unanswered, then destroyed flows are dropped after retention',
    steps: [
      (s) => s.setNat(after, 1000),
      (s) => s.ingestEventLine(NEW(1001, 1), 1000),
      (s) => s.ingestEventLine(NEW(1008, 8), 1000),
      (s) => s.tick(20_000),
      (s) => s.ingestEventLine(DESTROY(1008, 8), 21_000),
      (s) => s.tick(400_000),
    ],
    live: 1,
  },
  {
    name: 'eviction at the flow cap takes counted flows out',
    maxFlows: 1000,
    steps: [
      (s) => s.setNat(after, 1000),
      ...Array.from(
        { length: 1100 },
        (_, i): Step =>
          (s) =>
            s.ingestEventLine(NEW(2000 + i, 100 + i, i % 3 === 0), 1000 + i),
      ),
    ],
    live: 990,
  },
  {
    name: 'an entry we deleted is gone',
    steps: [
      (s) => s.setNat(after, 1000),
      (s) => s.ingestEventLine(NEW(1002, 2, false), 1000),
      (s) => s.markGone('2', 2000),
    ],
    live: 0,
  },
];

describe('FlowStore counts kept as flows change', () => {
  it.each(cases)('$name', ({ steps, maxFlows, live }) => {
    const s = new FlowStore(maxFlows ? { maxFlows } : {});
    for (const step of steps) {
      step(s);
      const { live: l, byVerdict, bySeverity, badByService } = s.stats();
      expect({ live: l, byVerdict, bySeverity, badByService }).toEqual(recount(s));
    }
    expect(s.stats().live).toBe(live);
  });

  it('a table taken over from a checkpoint is counted afresh, its unjudged flows too', () => {
    // The exporting store hands its flows over: a twin fed the same inputs says what the counts must be.
    const feed = (s: FlowStore) => {
      s.setNat(after, 1000);
      s.ingestEventLine(NEW(1001, 1), 1000);
      s.ingestEventLine(PLAIN(1003, 3), 1000);
      s.stats();
      s.ingestEventLine(NEW(1002, 2, false), 1100);
    };
    const twin = new FlowStore();
    feed(twin);
    const a = new FlowStore();
    feed(a);
    const b = new FlowStore();
    b.ingestEventLine(NEW(1009, 9), 500);
    b.importState(a.exportState());
    expect(b.stats()).toEqual(twin.stats());
    expect(b.stats()).toMatchObject({ live: 3, bySeverity: { critical: 1, ok: 2 } });
    expect(recount(b)).toMatchObject({ live: 3 });
  });
});
