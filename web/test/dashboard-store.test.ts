import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DashboardStore } from '../src/transport/dashboard-store.js';
import { delta, flow, sync } from './support/fixtures.js';

describe('dashboard store', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reduces every message at once but notifies at most ten times a second', () => {
    const store = new DashboardStore(undefined, 100, () => Date.now());
    let renders = 0;
    store.subscribe(() => renders++);
    store.dispatch(sync(0));
    // A busy second: 1000 batches (far more than the server sends), 1 ms apart.
    for (let i = 1; i <= 1000; i++) {
      store.dispatch(delta(i, { upserts: [flow(String(i % 50))] }));
      expect(store.getState().seq).toBe(i);
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(200);
    expect(renders).toBeLessThanOrEqual(12);
    expect(renders).toBeGreaterThanOrEqual(9);
    expect(store.getState().flows.size).toBe(50);
  });

  it('delivers the trailing change, and ignores actions that change nothing', () => {
    const store = new DashboardStore(undefined, 100, () => Date.now());
    let renders = 0;
    store.subscribe(() => renders++);
    store.dispatch(sync(0));
    expect(renders).toBe(1);
    store.dispatch(delta(1));
    expect(renders).toBe(1);
    vi.advanceTimersByTime(100);
    expect(renders).toBe(2);
    store.dispatch({ type: 'pong', now: 1 });
    vi.advanceTimersByTime(500);
    expect(renders).toBe(2);
    store.dispatchNow({ type: 'reset', mode: 'live' });
    expect(renders).toBe(3);
  });
});
