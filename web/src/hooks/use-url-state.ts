/** View state mirrored in the address bar (replaceState, so the back button is not flooded). */
import { useCallback, useState } from 'react';
import { parseUrlState, serializeUrlState, type UrlState } from '../domain/url-state.js';

/** URL state and a patching setter that rewrites the address. */
export function useUrlState(): [
  UrlState,
  (patch: Partial<UrlState> | ((s: UrlState) => Partial<UrlState>)) => void,
] {
  const [state, setState] = useState<UrlState>(() => parseUrlState(window.location.search));
  const update = useCallback((patch: Partial<UrlState> | ((s: UrlState) => Partial<UrlState>)) => {
    setState((prev) => {
      const next = { ...prev, ...(typeof patch === 'function' ? patch(prev) : patch) };
      const search = serializeUrlState(next, window.location.search);
      if (search !== window.location.search) {
        window.history.replaceState(null, '', `${window.location.pathname}${search}${window.location.hash}`);
      }
      return next;
    });
  }, []);
  return [state, update];
}
