/** The thin hook: the store's state, re-rendered only when the store notifies (at most ~10 times a second). */
import { useSyncExternalStore } from 'react';
import type { DashboardState } from '../domain/dashboard-state.js';
import type { DashboardStore } from '../transport/dashboard-store.js';

/** Subscribe a component to the store. */
export function useDashboardState(store: DashboardStore): DashboardState {
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}
