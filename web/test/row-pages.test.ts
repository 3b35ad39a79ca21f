import { describe, expect, it } from 'vitest';
import { RowPages } from '../src/domain/row-pages.js';
import { flow } from './support/fixtures.js';

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => flow(`f${from + i}`));

describe('row pages beyond the window', () => {
  it('serves rows by index once their page arrived, and asks for each missing page once', () => {
    const p = new RowPages(10, 4);
    expect(p.missing(25, 42)).toEqual([
      { offset: 20, limit: 10 },
      { offset: 30, limit: 10 },
      { offset: 40, limit: 10 },
    ]);
    expect(p.missing(25, 42)).toEqual([]);
    p.put(30, rows(30, 10));
    expect(p.row(35)?.id).toBe('f35');
    expect(p.row(25)).toBeUndefined();
    expect(p.missing(30, 40)).toEqual([]);
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

  it('stays bounded: the least recently stored page goes first; clear forgets pages and requests', () => {
    const p = new RowPages(10, 2);
    p.put(0, rows(0, 10));
    p.put(10, rows(10, 10));
    p.put(20, rows(20, 10));
    expect(p.size).toBe(2);
    expect(p.row(5)).toBeUndefined();
    expect(p.row(25)?.id).toBe('f25');
    p.missing(100, 110);
    p.clear();
    expect(p.size).toBe(0);
    expect(p.missing(100, 110)).toEqual([{ offset: 100, limit: 10 }]);
  });
});
