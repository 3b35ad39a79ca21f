import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../src/conntrack/line-splitter.js';

const FIXTURE = readFileSync(new URL('./fixtures/seed-incident/events-default.txt', import.meta.url), 'utf8');

interface Case {
  name: string;
  chunks: string[];
  maxLineLength?: number;
  /** Lines returned by all push() calls, in order. */
  pushed: string[];
  /** Lines returned by the final flush(). */
  flushed: string[];
  overlong: number;
}

const cases: Case[] = [
  { name: 'one chunk', chunks: ['a\nb\nc\n'], pushed: ['a', 'b', 'c'], flushed: [], overlong: 0 },
  {
    name: 'multiple lines in one chunk, then the rest',
    chunks: ['first\nsecond\nthi', 'rd\n'],
    pushed: ['first', 'second', 'third'],
    flushed: [],
    overlong: 0,
  },
  {
    name: 'byte by byte',
    chunks: [...'ab\r\ncd\n\nef\n'],
    pushed: ['ab', 'cd', '', 'ef'],
    flushed: [],
    overlong: 0,
  },
  { name: 'CRLF in one chunk', chunks: ['a\r\nb\r\n'], pushed: ['a', 'b'], flushed: [], overlong: 0 },
  { name: 'split inside CRLF', chunks: ['a\r', '\nb\r', '\n'], pushed: ['a', 'b'], flushed: [], overlong: 0 },
  {
    name: 'CR alone in its own chunk between the line and LF',
    chunks: ['abc', '\r', '\ndef\n'],
    pushed: ['abc', 'def'],
    flushed: [],
    overlong: 0,
  },
  {
    name: 'only the last CR is a line ending',
    chunks: ['a\r\r\n'],
    pushed: ['a\r'],
    flushed: [],
    overlong: 0,
  },
  { name: 'trailing partial line flushed', chunks: ['a\nb'], pushed: ['a'], flushed: ['b'], overlong: 0 },
  {
    name: 'trailing partial line spread over chunks, with CR',
    chunks: ['a\nb', 'c', 'd\r'],
    pushed: ['a'],
    flushed: ['bcd'],
    overlong: 0,
  },
  {
    name: 'empty chunks',
    chunks: ['', 'a', '', '\n', '', 'b', ''],
    pushed: ['a'],
    flushed: ['b'],
    overlong: 0,
  },
  { name: 'empty lines are kept', chunks: ['\n\n', '\n'], pushed: ['', '', ''], flushed: [], overlong: 0 },
  { name: 'nothing at all', chunks: [], pushed: [], flushed: [], overlong: 0 },
  {
    name: 'overlong line skipped and counted, in one chunk',
    chunks: ['abc\n123456\nxy\n'],
    maxLineLength: 5,
    pushed: ['abc', 'xy'],
    flushed: [],
    overlong: 1,
  },
  {
    name: 'overlong line skipped and counted, across many chunks',
    chunks: ['ok\nab', 'cd', 'ef', 'gh', 'ij', 'kl', '\nfine\n'],
    maxLineLength: 5,
    pushed: ['ok', 'fine'],
    flushed: [],
    overlong: 1,
  },
  {
    name: 'two overlong lines in a row across chunks',
    chunks: ['123456', '7\n89', '0123', '45\nx\n'],
    maxLineLength: 5,
    pushed: ['x'],
    flushed: [],
    overlong: 2,
  },
  {
    name: 'exactly maxLineLength is kept, CR not counted',
    chunks: ['abcde\n', 'fghij\r', '\n'],
    maxLineLength: 5,
    pushed: ['abcde', 'fghij'],
    flushed: [],
    overlong: 0,
  },
  {
    name: 'one over maxLineLength with a split CRLF',
    chunks: ['abcdef\r', '\nz\n'],
    maxLineLength: 5,
    pushed: ['z'],
    flushed: [],
    overlong: 1,
  },
  {
    name: 'overlong unterminated last line',
    chunks: ['a\n', '1234567'],
    maxLineLength: 5,
    pushed: ['a'],
    flushed: [],
    overlong: 1,
  },
  {
    name: 'real capture, byte by byte',
    chunks: [...FIXTURE],
    pushed: FIXTURE.split('\n').slice(0, -1),
    flushed: [],
    overlong: 0,
  },
  {
    name: 'real capture with CRLF, in 7-character chunks',
    chunks: FIXTURE.replaceAll('\n', '\r\n').match(/[\s\S]{1,7}/g) ?? [],
    pushed: FIXTURE.split('\n').slice(0, -1),
    flushed: [],
    overlong: 0,
  },
];

describe('LineSplitter', () => {
  it.each(cases)('$name', ({ chunks, maxLineLength, pushed, flushed, overlong }) => {
    const splitter = new LineSplitter(maxLineLength === undefined ? undefined : { maxLineLength });
    const got = chunks.flatMap((c) => splitter.push(c));
    expect(got).toEqual(pushed);
    expect(splitter.flush()).toEqual(flushed);
    expect(splitter.overlongLines).toBe(overlong);
  });

  it('defaults maxLineLength to 65536', () => {
    const splitter = new LineSplitter();
    expect(splitter.maxLineLength).toBe(65536);
    const ok = 'x'.repeat(65536);
    expect(splitter.push(`${ok}\n${ok}y\n`)).toEqual([ok]);
    expect(splitter.overlongLines).toBe(1);
  });

  it('counts an overlong line once it exceeds the limit, before its newline arrives (nothing buffered)', () => {
    const splitter = new LineSplitter({ maxLineLength: 100 });
    const chunk = 'z'.repeat(1000);
    for (let i = 0; i < 1000; i++) expect(splitter.push(chunk)).toEqual([]);
    // A megabyte in, and it was already counted: the splitter stopped collecting it after 101 characters.
    expect(splitter.overlongLines).toBe(1);
    expect(splitter.push('tail\nnext\n')).toEqual(['next']);
    expect(splitter.overlongLines).toBe(1);
  });

  it('starts clean after flush()', () => {
    const splitter = new LineSplitter({ maxLineLength: 3 });
    splitter.push('abcdef');
    expect(splitter.flush()).toEqual([]);
    expect(splitter.push('xy\n')).toEqual(['xy']);
    splitter.push('pq');
    expect(splitter.flush()).toEqual(['pq']);
    expect(splitter.flush()).toEqual([]);
    expect(splitter.overlongLines).toBe(1);
  });

  it('rejects a negative maxLineLength', () => {
    expect(() => new LineSplitter({ maxLineLength: -1 })).toThrow(RangeError);
  });
});
