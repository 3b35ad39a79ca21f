/** The thin hook over the row pager: re-renders when rows beyond the window arrive. */
import { useSyncExternalStore } from 'react';
import type { RowPager } from '../transport/row-pager.js';

/** The pager's version (bumped per answer), so memoised views over its rows recompute. */
export function useRowPagerVersion(pager: RowPager): number {
  return useSyncExternalStore(pager.subscribe, pager.getVersion, pager.getVersion);
}
