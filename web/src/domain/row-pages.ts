/**
 * The table beyond the held window: rows the server sent for a range (scrolling deep into a big table), kept
 * in fixed-size pages so memory stays bounded by what was scrolled through recently, plus which rows to ask
 * for next. Index 0 is the worst flow of the filtered table; the window covers the first rows.
 */
import type { FlowReport } from '@ctscope/shared';

/** Rows per page. */
export const PAGE_ROWS = 200;
/** Pages kept; the least recently used goes first. */
export const MAX_PAGES = 16;

/** One range to ask the server for. */
export interface RowRequest {
  offset: number;
  limit: number;
}

interface Page {
  rows: readonly FlowReport[];
  /** When it arrived (a page is a snapshot; an old one is asked for again while it shows). */
  at: number;
}

/** Pages of rows beyond the window, least recently used first. */
export class RowPages {
  private readonly pages = new Map<number, Page>();
  private readonly asked = new Set<number>();

  constructor(
    readonly pageRows = PAGE_ROWS,
    private readonly maxPages = MAX_PAGES,
  ) {}

  /** Store an answer for rows `offset…` (any offset; it is cut into pages that start on a page boundary). */
  put(offset: number, flows: readonly FlowReport[], at = 0): void {
    for (let i = 0; i < flows.length; ) {
      const page = Math.floor((offset + i) / this.pageRows);
      const start = page * this.pageRows;
      const from = offset + i - start;
      const take = Math.min(this.pageRows - from, flows.length - i);
      if (from === 0) {
        this.pages.delete(page);
        this.pages.set(page, { rows: flows.slice(i, i + take), at });
      }
      this.asked.delete(page);
      i += take;
    }
    while (this.pages.size > this.maxPages) this.pages.delete(this.pages.keys().next().value!);
  }

  /** The row at `index`, if its page is held. */
  row(index: number): FlowReport | undefined {
    const page = Math.floor(index / this.pageRows);
    return this.pages.get(page)?.rows[index - page * this.pageRows];
  }

  /**
   * The next range to ask for so rows `[from, to)` can show, at most `maxRows` rows of whole pages: the first
   * run of pages neither held nor asked for; when all are held, the first run of pages that arrived before
   * `staleBefore` (or at it). Marks its pages asked, and marks the held pages of `[from, to)` as recently used.
   */
  next(
    from: number,
    to: number,
    maxRows: number,
    staleBefore = Number.NEGATIVE_INFINITY,
  ): RowRequest | undefined {
    if (to <= from) return undefined;
    const first = Math.floor(from / this.pageRows);
    const last = Math.floor((to - 1) / this.pageRows);
    const most = Math.max(1, Math.floor(maxRows / this.pageRows));
    for (let p = first; p <= last; p++) {
      const held = this.pages.get(p);
      if (held) {
        this.pages.delete(p);
        this.pages.set(p, held);
      }
    }
    const missing = (p: number) => !this.asked.has(p) && !this.pages.has(p);
    const stale = (p: number) => {
      const page = this.pages.get(p);
      return page !== undefined && page.at <= staleBefore && !this.asked.has(p);
    };
    for (const need of [missing, stale]) {
      let p = first;
      while (p <= last && !need(p)) p++;
      if (p > last) continue;
      const start = p;
      while (p <= last && p - start < most && need(p)) this.asked.add(p++);
      return { offset: start * this.pageRows, limit: (p - start) * this.pageRows };
    }
    return undefined;
  }

  /** Forget that rows `offset…offset+limit` were asked for (the answer failed, or fell short of them). */
  release(r: RowRequest): void {
    const first = Math.floor(r.offset / this.pageRows);
    const last = Math.floor((r.offset + r.limit - 1) / this.pageRows);
    for (let p = first; p <= last; p++) this.asked.delete(p);
  }

  /** Forget everything (a new filter or sort: held rows describe another table). */
  clear(): void {
    this.pages.clear();
    this.asked.clear();
  }

  get size(): number {
    return this.pages.size;
  }
}
