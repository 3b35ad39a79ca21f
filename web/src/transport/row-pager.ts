/**
 * Fetches the rows beyond the held window while the table scrolls through them: the table says which rows it
 * shows, this asks the server for the missing pages (`range`, debounced, one request in flight at a time since
 * the server keeps only a client's latest one), stores the answers in {@link RowPages}, and asks again for the
 * pages in view once they are a few seconds old. No React; the table re-renders on `version`.
 */
import type { RangeMessage, RowsMessage } from '@ctscope/shared';
import { PAGE_ROWS, RowPages, type RowRequest } from '../domain/row-pages.js';

/** Timing of the asks. */
export interface RowPagerOptions {
  /** Quiet time after the last scroll before asking. */
  debounceMs: number;
  /** Longest a continuous scroll delays an ask. */
  maxWaitMs: number;
  /** Pages in view older than this are asked for again. */
  refreshMs: number;
  /** An answer not back by then is given up (the server may have dropped the request for a newer sync). */
  timeoutMs: number;
  /** Wait after a refused or unsendable request. */
  retryMs: number;
  clock: () => number;
}

export const DEFAULT_ROW_PAGER: RowPagerOptions = {
  debounceMs: 120,
  maxWaitMs: 400,
  refreshMs: 5000,
  timeoutMs: 10_000,
  retryMs: 1000,
  clock: () => Date.now(),
};

/** Rows beyond the window, fetched on demand. */
export class RowPager {
  private pages = new RowPages();
  private maxRange = 0;
  private wanted: { from: number; to: number } | undefined;
  private inflight: (RowRequest & { id: number; timer: ReturnType<typeof setTimeout> }) | undefined;
  private nextId = 1;
  /** Answers to requests older than this id describe another table (filter changed since). */
  private firstValidId = 1;
  /** A filter change is on its way to the server: ask nothing until its sync. */
  private paused = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private waitingSince: number | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly o: RowPagerOptions;
  /** Bumped when held rows change. */
  version = 0;
  /** Requests sent, for tests. */
  sent = 0;

  constructor(
    private readonly send: (msg: RangeMessage) => boolean,
    options: Partial<RowPagerOptions> = {},
  ) {
    this.o = { ...DEFAULT_ROW_PAGER, ...options };
  }

  /** The server's limits, from its hello; pages never exceed its largest range. */
  configure(window: { maxRange: number }): void {
    this.maxRange = window.maxRange;
    const pageRows = Math.max(1, Math.min(PAGE_ROWS, window.maxRange));
    if (pageRows !== this.pages.pageRows) {
      this.pages = new RowPages(pageRows);
      this.changed();
    }
  }

  /** The table shows rows `[from, to)` of the filtered table (worst first): fetch what is missing. Empty: none. */
  want(from: number, to: number): void {
    if (to <= from) {
      this.wanted = undefined;
      clearTimeout(this.timer);
      this.timer = undefined;
      this.waitingSince = undefined;
      return;
    }
    if (this.wanted?.from === from && this.wanted.to === to) return;
    this.wanted = { from, to };
    this.waitingSince ??= this.o.clock();
    const wait = Math.min(this.o.debounceMs, this.waitingSince + this.o.maxWaitMs - this.o.clock());
    this.schedule(Math.max(0, wait));
  }

  /** The row at `offset` of the filtered table, if held. */
  row(offset: number): ReturnType<RowPages['row']> {
    return this.pages.row(offset);
  }

  /** A `rows` answer. */
  onRows(m: RowsMessage): void {
    if (m.id < this.firstValidId) return;
    const mine = this.inflight?.id === m.id ? this.inflight : undefined;
    this.pages.put(m.offset, m.flows, this.o.clock());
    if (mine) {
      // Pages past the end of a short answer were asked for too: free them (the table may grow).
      this.pages.release(mine);
      this.endInflight();
    }
    this.changed();
    this.schedule(0);
  }

  /** An `error` answering request `id`. */
  onError(id: number): void {
    if (this.inflight?.id !== id) return;
    this.pages.release(this.inflight);
    this.endInflight();
    this.schedule(this.o.retryMs);
  }

  /** A sync arrived: a request the server had not answered yet may be gone; resume asking. */
  onSync(): void {
    if (this.inflight) {
      this.pages.release(this.inflight);
      this.endInflight();
    }
    this.firstValidId = this.nextId;
    this.paused = false;
    if (this.wanted) this.schedule(0);
  }

  /**
   * The table changed (filter or sort): drop every row and ask again for the rows in view; with `untilSync`
   * (the server has yet to apply a new filter), ask nothing until the next sync.
   */
  reset(untilSync = false): void {
    this.pages.clear();
    if (this.inflight) this.endInflight();
    this.firstValidId = this.nextId;
    this.paused ||= untilSync;
    this.changed();
    if (this.wanted) this.schedule(this.o.debounceMs);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  /** Rows held (bounded by the page cache). */
  get heldPages(): number {
    return this.pages.size;
  }

  dispose(): void {
    this.want(0, 0);
    this.reset();
    this.listeners.clear();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, ms);
  }

  private pump(): void {
    this.waitingSince = undefined;
    if (!this.wanted || this.inflight || this.paused || this.maxRange <= 0) return;
    // Half a page either side, so a short scroll finds its rows already there.
    const margin = Math.floor(this.pages.pageRows / 2);
    const now = this.o.clock();
    const ask = this.pages.next(
      Math.max(0, this.wanted.from - margin),
      this.wanted.to + margin,
      this.maxRange,
      now - this.o.refreshMs,
    );
    if (!ask) {
      // Everything in view is held and fresh: look again when it is due for a refresh.
      this.schedule(this.o.refreshMs);
      return;
    }
    const id = this.nextId++;
    if (!this.send({ type: 'range', id, offset: ask.offset, limit: ask.limit })) {
      this.pages.release(ask);
      this.schedule(this.o.retryMs);
      return;
    }
    this.sent++;
    const timer = setTimeout(() => {
      if (this.inflight?.id !== id) return;
      this.pages.release(this.inflight);
      this.endInflight();
      this.pump();
    }, this.o.timeoutMs);
    this.inflight = { ...ask, id, timer };
  }

  private endInflight(): void {
    clearTimeout(this.inflight?.timer);
    this.inflight = undefined;
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}
