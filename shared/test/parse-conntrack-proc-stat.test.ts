import { describe, expect, it } from 'vitest';
import { parseConntrackProcStat } from '../src/conntrack/parse-conntrack-proc-stat.js';

// The header of kernel 6.x (`ct_cpu_seq_show`), two spaces where it has them.
const HEADER6 =
  'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart';

const ok: { name: string; text: string; count: number; stats: Record<string, number> }[] = [
  {
    name: 'kernel 6.x, two CPUs: counters summed, entries taken once, hex read',
    text: [
      HEADER6,
      '0003d090  00000001 00000002 00000000 0000000a 00000000 00000000 00000003 00000000 00000004 00000005 00000006 00000007  00000009 00000009 00000009 0000000b',
      '0003d090  00000010 00000020 00000000 000000a0 00000000 00000000 00000030 00000000 00000040 00000050 00000060 00000070  00000009 00000009 00000009 000000b0',
      '',
    ].join('\n'),
    count: 250_000,
    stats: {
      clash_resolve: 0x11,
      found: 0x22,
      invalid: 0xaa,
      chaintoolong: 0x33,
      insert: 0,
      insert_failed: 0x44,
      drop: 0x55,
      early_drop: 0x66,
      error: 0x77,
      search_restart: 0xbb,
    },
  },
  {
    name: 'an older kernel (no clashres, no chainlength): the columns it has, ignore counted, the constant 0s left out',
    text: [
      'entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart',
      '00000010  00000005 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008 00000009 0000000a 0000000b  00000000 00000000 00000000 0000000c',
    ].join('\n'),
    count: 16,
    stats: {
      found: 1,
      invalid: 3,
      ignore: 4,
      insert: 7,
      insert_failed: 8,
      drop: 9,
      early_drop: 10,
      error: 11,
      search_restart: 12,
    },
  },
  {
    name: 'one CPU, no trailing newline, tabs between cells',
    text: `${HEADER6}\n${['00000002', ...Array<string>(16).fill('00000000')].join('\t')}`,
    count: 2,
    stats: {
      clash_resolve: 0,
      found: 0,
      invalid: 0,
      chaintoolong: 0,
      insert: 0,
      insert_failed: 0,
      drop: 0,
      early_drop: 0,
      error: 0,
      search_restart: 0,
    },
  },
];

const bad: { name: string; text: string; error: RegExp }[] = [
  { name: 'empty', text: '', error: /no "entries" column/ },
  { name: 'header only', text: `${HEADER6}\n`, error: /no per-CPU rows/ },
  { name: 'not the stat file', text: 'hello world\n1 2\n', error: /no "entries" column/ },
  {
    name: 'a short row',
    text: `${HEADER6}\n00000001 00000002\n`,
    error: /row 1 has 2 columns, the header 17/,
  },
  {
    name: 'a cell that is not hex',
    text: `${HEADER6}\n${['00000002', 'zz', ...Array<string>(15).fill('00000000')].join(' ')}\n`,
    error: /row 1: bad number "zz"/,
  },
  {
    name: 'a cell too long for a safe integer',
    text: `${HEADER6}\n${['ffffffffffffffffff', ...Array<string>(16).fill('00000000')].join(' ')}\n`,
    error: /bad number/,
  },
];

describe('parseConntrackProcStat', () => {
  it.each(ok)('$name', ({ text, count, stats }) => {
    const r = parseConntrackProcStat(text);
    expect(r.count).toBe(count);
    expect({ ...r.stats }).toEqual(stats);
  });

  it.each(bad)('rejects $name', ({ text, error }) => {
    expect(() => parseConntrackProcStat(text)).toThrow(error);
  });
});
