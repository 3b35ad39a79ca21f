import { describe, expect, it } from 'vitest';
import { RowPages } from '../src/domain/row-pages.js';
import { flow } from './support/fixtures.js';

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => flow(`f${from + i}`));

describe('row pages beyond the window', () => {
  it('serves rows by index once their page arrived, and asks for each missing page once', () => {
    const p = new RowPages(10, 4);
    expect(p.next(25, 42, 1000)).toEqual({ offset: 20, limit: 30 });
    expect(p.next(25, 42, 1000)).toBeUndefined();
    p.put(30, rows(30, 10));
    expect(p.row(35)?.id).toBe('f35');
    expect(p.row(25)).toBeUndefined();
    expect(p.next(30, 40, 1000)).toBeUndefined();
  });

  const asks: Array<{ name: string; held: number[]; from: number; to: number; max: number; want: unknown }> =
    [
      {
        name: 'the largest range allowed, in whole pages',
        held: [],
        from: 0,
        to: 100,
        max: 25,
        want: { offset: 0, limit: 20 },
      },
      {
        name: 'at least one page when the range limit is smaller',
        held: [],
        from: 5,
        to: 8,
        max: 3,
        want: { offset: 0, limit: 10 },
      },
      {
        name: 'the first gap only (no held page asked again)',
        held: [10],
        from: 0,
        to: 40,
        max: 100,
        want: { offset: 0, limit: 10 },
      },
      {
        name: 'the gap after held pages',
        held: [0, 10],
        from: 0,
        to: 40,
        max: 100,
        want: { offset: 20, limit: 20 },
      },
      { name: 'nothing for an empty range', held: [], from: 30, to: 30, max: 100, want: undefined },
    ];
  for (const c of asks) {
    it(`asks for ${c.name}`, () => {
      const p = new RowPages(10, 8);
      for (const o of c.held) p.put(o, rows(o, 10), 1);
      expect(p.next(c.from, c.to, c.max)).toEqual(c.want);
    });
  }

  it('asks again for held pages older than the given time, missing pages first', () => {
    const p = new RowPages(10, 8);
    p.put(0, rows(0, 10), 100);
    p.put(10, rows(10, 10), 500);
    expect(p.next(0, 30, 100, 200)).toEqual({ offset: 20, limit: 10 });
    expect(p.next(0, 30, 100, 200)).toEqual({ offset: 0, limit: 10 });
    expect(p.next(0, 30, 100, 200)).toBeUndefined();
    // The stale page keeps showing until its fresh copy arrives.
    expect(p.row(3)?.id).toBe('f3');
  });

  it('forgets a failed or short request so its pages can be asked for again', () => {
    const p = new RowPages(10, 8);
    const ask = p.next(0, 40, 100)!;
    expect(p.next(0, 40, 100)).toBeUndefined();
    p.put(0, rows(0, 15));
    p.release(ask);
    expect(p.next(0, 40, 100)).toEqual({ offset: 20, limit: 20 });
  });

  const cases: Array<{ name: string; offset: number; n: number; held: number[]; absent: number[] }> = [
    { name: 'aligned answer', offset: 10, n: 10, held: [10, 19], absent: [9, 20] },
    { name: 'two pages in one answer', offset: 10, n: 20, held: [10, 29], absent: [30] },
    { name: 'a partial last page (end of the table)', offset: 20, n: 3, held: [20, 22], absent: [23] },
  ];
  for (const c of cases) {
    it(`stores ${c.name}`, () => {
      const p = new RowPages(10, 4);
      p.put(c.offset, rows(c.offset, c.n));
      for (const i of c.held) expect(p.row(i)?.id, `row ${i}`).toBe(`f${i}`);
      for (const i of c.absent) expect(p.row(i), `row ${i}`).toBeUndefined();
    });
  }

  it('stays bounded: the least recently used page goes first; clear forgets pages and requests', () => {
    const p = new RowPages(10, 2);
    p.put(0, rows(0, 10));
    p.put(10, rows(10, 10));
    // Showing page 0 again makes page 10 the least recently used.
    expect(p.next(0, 10, 10)).toBeUndefined();
    p.put(20, rows(20, 10));
    expect(p.size).toBe(2);
    expect(p.row(15)).toBeUndefined();
    expect(p.row(5)?.id).toBe('f5');
    expect(p.row(25)?.id).toBe('f25');
    p.next(100, 110, 10);
    p.clear();
    expect(p.size).toBe(0);
    expect(p.next(100, 110, 10)).toEqual({ offset: 100, limit: 10 });
  });
});
