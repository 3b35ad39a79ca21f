import { describe, expect, it } from 'vitest';
import { AgeingQueue } from '../src/flows/ageing-queue.js';

type Op = ['add', string, number] | ['delete', string, number] | ['due', number, string[]];

// Each case: operations on a queue of flows by first-seen time (ms); `due` takes what is due at that limit.
const cases: Array<{ name: string; ops: Op[]; size: number; keys: string[] }> = [
  {
    name: 'takes only keys first seen at or before the limit, across and inside a bucket',
    ops: [
      ['add', 'a', 100],
      ['add', 'b', 1500],
      ['add', 'c', 1999],
      ['add', 'd', 2500],
      ['due', 1500, ['a', 'b']],
      ['due', 1500, []],
      ['due', 2000, ['c']],
    ],
    size: 1,
    keys: ['d'],
  },
  {
    name: 'a deleted key is never due, and an emptied bucket goes',
    ops: [
      ['add', 'a', 100],
      ['add', 'b', 200],
      ['delete', 'a', 100],
      ['delete', 'b', 200],
      ['delete', 'zz', 200],
      ['due', 10_000, []],
    ],
    size: 0,
    keys: [],
  },
  {
    name: 'adding a key twice keeps one',
    ops: [
      ['add', 'a', 100],
      ['add', 'a', 100],
      ['due', 5000, ['a']],
    ],
    size: 0,
    keys: [],
  },
  {
    name: 'a key re-queued later (re-judged) is still due by its first-seen time',
    ops: [
      ['add', 'new', 9000],
      ['add', 'old', 1000],
      ['due', 5000, ['old']],
    ],
    size: 1,
    keys: ['new'],
  },
  {
    name: 'a key whose flow is gone in the straddling bucket is taken (and skipped by the caller)',
    ops: [
      ['add', 'gone', 3200],
      ['add', 'young', 3900],
      ['due', 3500, ['gone']],
    ],
    size: 1,
    keys: ['young'],
  },
];

describe('AgeingQueue', () => {
  it.each(cases)('$name', ({ ops, size, keys }) => {
    const q = new AgeingQueue();
    const seen = new Map<string, number>();
    for (const op of ops) {
      if (op[0] === 'add') {
        q.add(op[1], op[2]);
        if (op[1] !== 'gone') seen.set(op[1], op[2]);
      } else if (op[0] === 'delete') q.delete(op[1], op[2]);
      else expect(q.takeDue(op[1], (k) => seen.get(k))).toEqual(op[2]);
    }
    expect(q.size).toBe(size);
    expect(q.keys()).toEqual(keys);
  });
});
