/** Test helper: a recording (NDJSON text) of the seed incident built from shared/test/fixtures/seed-incident. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNatSnapshot, type RecordingRecord } from '@ctscope/shared';

/** The seed incident fixtures. */
export const SEED_DIR = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'shared',
  'test',
  'fixtures',
  'seed-incident',
);

const read = (name: string) => readFileSync(join(SEED_DIR, name), 'utf8');

/** Times (ms) of the story: rules before, removed just before the old entries are deleted, back after the NEWs. */
export const SEED_TIMES = {
  start: 1_795_689_887_000,
  rulesRemoved: 1_795_689_891_800,
  rulesBack: 1_795_689_893_000,
  firstDump: 1_795_689_894_200,
  dumpStepMs: 3000,
};

/**
 * Records in time order: header, NAT before/during/after, every `conntrack -E` line at its own timestamp, and
 * the four `conntrack -L` dumps of list-poll.txt 3 s apart (the first a targeted poll, the rest full dumps).
 */
export function seedRecords(): RecordingRecord[] {
  const T = SEED_TIMES;
  const recs: RecordingRecord[] = [
    { k: 'header', t: T.start, v: 1, node: 'seed-node', writer: 'test' },
    { k: 'gap', t: T.start, reason: 'server-start' },
    { k: 'nat', t: T.start, snapshot: parseNatSnapshot(read('nat-before.txt')) },
    { k: 'nat', t: T.rulesRemoved, snapshot: parseNatSnapshot(read('nat-during.txt')) },
    { k: 'nat', t: T.rulesBack, snapshot: parseNatSnapshot(read('nat-after.txt')) },
    { k: 'counters', t: T.start, count: 16, max: 262_144, stats: { insert_failed: 0, drop: 0 } },
    { k: 'counters', t: T.rulesBack, count: 18, max: 262_144, stats: { insert_failed: 3, drop: 0 } },
  ];
  for (const line of read('events-ts-ext-id.txt').split('\n')) {
    const m = /^\[(\d+\.\d+)\]/.exec(line);
    if (m) recs.push({ k: 'line', t: Math.round(Number(m[1]) * 1000), src: 'events', line });
  }
  read('list-poll.txt')
    .split('\n--\n')
    .filter((d) => d.trim() !== '')
    .forEach((dump, i) => {
      const t = T.firstDump + i * T.dumpStepMs;
      const scope = i === 0 ? 'poll' : 'full';
      recs.push({ k: 'dump', t, phase: 'begin', scope });
      for (const line of dump.split('\n'))
        if (line.trim()) recs.push({ k: 'line', t, src: scope === 'full' ? 'dump' : 'poll', line });
      recs.push({ k: 'dump', t, phase: 'end', scope });
    });
  return recs.sort((a, b) => a.t - b.t);
}

/** The same as NDJSON text, as a file on disk would hold it. */
export function seedRecordingText(): string {
  return `${seedRecords()
    .map((r) => JSON.stringify(r))
    .join('\n')}\n`;
}

/**
 * A large recording for load tests: `flows` NEW events spread over `seconds` (so flows/seconds events/s),
 * all to the seed's DNS service; every 1000th is never DNATed (critical), the rest are answered.
 */
export function bulkRecordingText(flows: number, seconds: number): string {
  const t0 = SEED_TIMES.start;
  const out: string[] = [
    JSON.stringify({ k: 'header', t: t0, v: 1, node: 'load-node', writer: 'test' }),
    JSON.stringify({ k: 'nat', t: t0, snapshot: parseNatSnapshot(read('nat-after.txt')) }),
  ];
  for (let i = 0; i < flows; i++) {
    const t = t0 + 1 + Math.floor((i * seconds * 1000) / flows);
    const src = `10.42.${(i >> 8) & 255}.${i & 255}`;
    const sport = 1024 + (i % 60000);
    const reply =
      i % 1000 === 0
        ? `src=10.43.0.10 dst=172.20.112.199 sport=53 dport=${sport}`
        : `src=172.20.112.199 dst=${src} sport=53 dport=${sport}`;
    const line = `[NEW] udp      17 30 src=${src} dst=10.43.0.10 sport=${sport} dport=53 ${i % 1000 === 0 ? '[UNREPLIED] ' : ''}${reply} id=${100000 + i}`;
    out.push(JSON.stringify({ k: 'line', t, src: 'events', line }));
  }
  return `${out.join('\n')}\n`;
}
