import type { FleetSnapshot } from '@ctscope/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FleetStore } from '../src/fleet/fleet-store.js';

const SNAP = {
  at: 1,
  refreshMs: 1000,
  nodes: [{ node: 'a' }],
  prometheus: { state: 'ok' },
} as unknown as FleetSnapshot;

/** A document whose visibility the test sets. */
function fakeDoc() {
  const listeners = new Set<() => void>();
  const doc = {
    visibilityState: 'visible' as DocumentVisibilityState,
    addEventListener: (_t: string, fn: () => void) => listeners.add(fn),
    removeEventListener: (_t: string, fn: () => void) => listeners.delete(fn),
    set(v: DocumentVisibilityState) {
      doc.visibilityState = v;
      for (const fn of listeners) fn();
    },
  };
  return doc;
}

describe('FleetStore', () => {
  let calls: number;
  let fail: boolean;
  beforeEach(() => {
    vi.useFakeTimers();
    calls = 0;
    fail = false;
    vi.stubGlobal('fetch', async () => {
      calls++;
      if (fail) throw new TypeError('Failed to fetch');
      return new Response(JSON.stringify(SNAP), { status: 200 });
    });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('passes the page token on', () => {
    const s = FleetStore.fromLocation(
      { origin: 'http://h:1', search: '?kiosk=1&token=abc' },
      fakeDoc() as unknown as Document,
    );
    expect((s as unknown as { endpoint: string }).endpoint).toBe('http://h:1/api/fleet?token=abc');
  });

  it('keeps the last snapshot when the server stops answering', async () => {
    const doc = fakeDoc();
    const s = new FleetStore('http://x/api/fleet', doc as unknown as Document);
    s.start({ kiosk: false });
    await vi.advanceTimersByTimeAsync(10);
    expect(s.getState().snapshot).toEqual(SNAP);
    fail = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.getState().server).toBe('unreachable');
    expect(s.getState().serverError).toBe('Failed to fetch');
    expect(s.getState().snapshot).toEqual(SNAP);
    s.stop();
  });

  it.each([
    { kiosk: false, pausedCalls: 0 },
    { kiosk: true, pausedCalls: 5 },
  ])('hidden tab, kiosk=$kiosk: $pausedCalls polls in 5 s', async ({ kiosk, pausedCalls }) => {
    const doc = fakeDoc();
    const s = new FleetStore('http://x/api/fleet', doc as unknown as Document);
    s.start({ kiosk });
    await vi.advanceTimersByTimeAsync(10);
    doc.set('hidden');
    const before = calls;
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls - before).toBe(pausedCalls);
    expect(s.getState().paused).toBe(!kiosk);
    doc.set('visible');
    await vi.advanceTimersByTimeAsync(10);
    expect(s.getState().paused).toBe(false);
    s.stop();
  });
});
