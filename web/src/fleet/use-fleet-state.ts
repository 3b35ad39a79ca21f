/** Subscribe a component to the fleet store. */
import { useSyncExternalStore } from 'react';
import type { FleetState, FleetStore } from './fleet-store.js';

export function useFleetState(store: FleetStore): FleetState {
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}
