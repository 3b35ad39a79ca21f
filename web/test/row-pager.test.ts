import type { RangeMessage, RowsMessage } from '@ctscope/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RowPager } from '../src/transport/row-pager.js';
import { flow } from './support/fixtures.js';

const OPTS = { debounceMs: 100, maxWaitMs: 300, refreshMs: 5000, timeoutMs: 2000, retryMs: 1000 };

function setup(maxRange = 1000) {
  const sent: RangeMessage[] = [];
  let open = true;
  const pager = new RowPager(
    (m) => {
      if (open) sent.push(m);
      return open;
    },
    { ...OPTS, clock: () => Date.now() },
  );
  pager.configure({ maxRange });
  const answer = (m: RangeMessage, total = 50_000): RowsMessage => ({
    type: 'rows',
    id: m.id,
    seq: 1,
    offset: m.offset,
    total,
    flows: Array.from({ length: Math.max(0, Math.min(m.limit, total - m.offset)) }, (_, i) =>
      flow(`r${m.offset + i}`),
    ),
  });
  return { pager, sent, answer, setOpen: (o: boolean) => (open = o) };
}

describe('row pager', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks once scrolling pauses, for the rows in view plus a margin, and serves the answer', () => {
    const { pager, sent, answer } = setup();
    for (let i = 0; i < 5; i++) {
      pager.want(40_000 + i * 10, 40_020 + i * 10);
      vi.advanceTimersByTime(50);
    }
    // Still scrolling: the debounce holds, but not past maxWait.
    expect(sent.length).toBe(0);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([{ type: 'range', id: 1, offset: 39_800, limit: 400 }]);
    expect(pager.row(40_050)).toBeUndefined();
    const v = pager.version;
    pager.onRows(answer(sent[0]!));
    expect(pager.version).toBe(v + 1);
    expect(pager.row(40_050)?.id).toBe('r40050');
  });

  it('keeps one request in flight, never more than maxRange rows, and asks for the rest after the answer', () => {
    const { pager, sent, answer } = setup(400);
    pager.want(10_000, 11_000);
    vi.advanceTimersByTime(300);
    expect(sent.map((m) => [m.offset, m.limit])).toEqual([[9_800, 400]]);
    pager.want(10_010, 11_010);
    vi.advanceTimersByTime(300);
    expect(sent.length).toBe(1);
    pager.onRows(answer(sent[0]!));
    vi.advanceTimersByTime(0);
    expect(sent.map((m) => [m.offset, m.limit])).toEqual([
      [9_800, 400],
      [10_200, 400],
    ]);
    for (const m of sent) expect(m.limit).toBeLessThanOrEqual(400);
  });

  it('drops answers that belong to a previous filter, and waits for the sync after a filter change', () => {
    const { pager, sent, answer } = setup();
    pager.want(1000, 1020);
    vi.advanceTimersByTime(300);
    const old = sent[0]!;
    pager.reset(true);
    pager.onRows(answer(old));
    expect(pager.row(1010)).toBeUndefined();
    vi.advanceTimersByTime(1000);
    expect(sent.length).toBe(1);
    pager.onSync();
    vi.advanceTimersByTime(0);
    expect(sent.length).toBe(2);
    pager.onRows(answer(sent[1]!));
    expect(pager.row(1010)?.id).toBe('r1010');
  });

  it('asks again after an error, a lost answer, or a closed socket', () => {
    const { pager, sent, answer, setOpen } = setup();
    pager.want(5000, 5020);
    vi.advanceTimersByTime(300);
    pager.onError(sent[0]!.id);
    vi.advanceTimersByTime(999);
    expect(sent.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(sent.length).toBe(2);
    // No answer: given up after the timeout, then asked again.
    vi.advanceTimersByTime(2000);
    expect(sent.length).toBe(3);
    setOpen(false);
    pager.onSync();
    vi.advanceTimersByTime(0);
    expect(sent.length).toBe(3);
    setOpen(true);
    vi.advanceTimersByTime(1000);
    expect(sent.length).toBe(4);
    pager.onRows(answer(sent[3]!));
    expect(pager.row(5000)?.id).toBe('r5000');
  });

  it('refreshes the pages in view when they are old, and stops asking once nothing past the window shows', () => {
    const { pager, sent, answer } = setup();
    pager.want(2000, 2020);
    vi.advanceTimersByTime(300);
    pager.onRows(answer(sent[0]!));
    vi.advanceTimersByTime(4000);
    expect(sent.length).toBe(1);
    vi.advanceTimersByTime(2000);
    expect(sent.length).toBe(2);
    pager.onRows(answer(sent[1]!));
    pager.want(0, 0);
    vi.advanceTimersByTime(60_000);
    expect(sent.length).toBe(2);
  });

  it('holds a bounded number of pages however far it scrolls', () => {
    const { pager, sent, answer } = setup();
    for (let at = 500; at < 50_000; at += 1000) {
      pager.want(at, at + 20);
      vi.advanceTimersByTime(300);
      pager.onRows(answer(sent[sent.length - 1]!));
    }
    expect(sent.length).toBeGreaterThan(40);
    expect(pager.heldPages).toBeLessThanOrEqual(16);
  });
});
