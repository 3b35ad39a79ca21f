import type { Alert } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import { alertText, newestAlerts } from '../src/domain/alert-text.js';
import { initialState, LIMITS } from '../src/domain/dashboard-state.js';
import { reduceAll } from '../src/domain/flow-reducer.js';
import { delta, sync } from './support/fixtures.js';

const alert = (t: number, patch: Partial<Alert> = {}): Alert => ({
  t,
  state: 'raised',
  flowId: String(t),
  verdict: 'no-dnat',
  service: 'kube-system/kube-dns:dns',
  ...patch,
});

describe('alerts in the dashboard state', () => {
  it.each([
    {
      name: 'a sync carries the server recent alerts',
      actions: [sync(1, { alerts: [alert(1), alert(2)] })],
      want: [1, 2],
    },
    {
      name: 'a delta appends to what the sync brought',
      actions: [sync(1, { alerts: [alert(1)] }), delta(2, { alerts: [alert(3)] })],
      want: [1, 3],
    },
    {
      name: 'a later sync (after a flood) replaces them, not drops them',
      actions: [
        sync(1, { alerts: [alert(1)] }),
        delta(2, { alerts: [alert(3)] }),
        sync(5, { alerts: [alert(1), alert(3), alert(4)] }),
      ],
      want: [1, 3, 4],
    },
    {
      name: 'a sync is capped to the newest',
      actions: [sync(1, { alerts: Array.from({ length: LIMITS.alerts + 5 }, (_, i) => alert(i)) })],
      want: Array.from({ length: LIMITS.alerts }, (_, i) => i + 5),
    },
  ])('$name', ({ actions, want }) => {
    const s = reduceAll(initialState(), actions);
    expect(s.alerts.map((a) => a.t)).toEqual(want);
  });
});

describe('alert text', () => {
  it.each([
    { a: alert(0, { t: Date.UTC(2026, 0, 1, 0, 0, 1) }), has: ['raised', 'no DNAT', 'kube-dns'] },
    { a: alert(0, { state: 'cleared', verdict: 'ok', service: undefined }), has: ['cleared (now ok)'] },
  ])('names state, verdict and service: $has', ({ a, has }) => {
    for (const h of has) expect(alertText(a)).toContain(h);
  });

  it('lists the newest first', () => {
    expect(newestAlerts([alert(1), alert(2), alert(3)], 2).map((a) => a.t)).toEqual([3, 2]);
  });
});
