/**
 * The table beyond the held window: rows the server sent for a range (scrolling deep into a big table), kept
 * in fixed-size pages so memory stays bounded by what was scrolled through recently, plus which page to ask
 * for next. Index 0 is the worst flow of the filtered table; the window covers the first rows.
 */
import type { FlowReport } from '@ctscope/shared';

/** Rows per page (and per range request). */
export const PAGE_ROWS = 200;
/** Pages kept; the least recently used goes first. */
export const MAX_PAGES = 16;

/** Pages of rows beyond the window, least recently used first. */
export class RowPages {
  private readonly pages = new Map<number, readonly FlowReport[]>();
  private readonly asked = new Set<number>();

  constructor(
    private readonly pageRows = PAGE_ROWS,
    private readonly maxPages = MAX_PAGES,
  ) {}

  /** Store an answer for rows `offset…` (any offset; it is cut into pages that start on a page boundary). */
  put(offset: number, flows: readonly FlowReport[]): void {
    for (let i = 0; i < flows.length; ) {
      const page = Math.floor((offset + i) / this.pageRows);
      const start = page * this.pageRows;
      const from = offset + i - start;
      const take = Math.min(this.pageRows - from, flows.length - i);
      if (from === 0) {
        this.pages.delete(page);
        this.pages.set(page, flows.slice(i, i + take));
      }
      this.asked.delete(page);
      i += take;
    }
    while (this.pages.size > this.maxPages) this.pages.delete(this.pages.keys().next().value!);
  }

  /** The row at `index`, if its page is held. */
  row(index: number): FlowReport | undefined {
    const page = Math.floor(index / this.pageRows);
    return this.pages.get(page)?.[index - page * this.pageRows];
  }

  /** Pages to request so rows `[from, to)` can show: not held and not already asked for. Marks them asked. */
  missing(from: number, to: number): Array<{ offset: number; limit: number }> {
    const out: Array<{ offset: number; limit: number }> = [];
    if (to <= from) return out;
    for (let p = Math.floor(from / this.pageRows); p <= Math.floor((to - 1) / this.pageRows); p++) {
      if (this.pages.has(p) || this.asked.has(p)) continue;
      this.asked.add(p);
      out.push({ offset: p * this.pageRows, limit: this.pageRows });
    }
    return out;
  }

  /** Forget everything (a new filter or a fresh sync: held rows describe another table). */
  clear(): void {
    this.pages.clear();
    this.asked.clear();
  }

  get size(): number {
    return this.pages.size;
  }
}
