/** Test helper: a recording (NDJSON text) of the seed incident built from shared/test/fixtures/seed-incident. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNatSnapshot, type RecordingRecord } from '@ctscope/shared';

export const SEED_DIR = join(import.meta.dirname, '..', '..', '..', 'shared', 'test', 'fixtures', 'seed-incident');

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
      for (const line of dump.split('\n')) if (line.trim()) recs.push({ k: 'line', t, src: scope === 'full' ? 'dump' : 'poll', line });
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
