/**
 * Page time of toasts: when each one was first shown, a re-render when the next one's life ends, and a hold
 * (pointer or focus on the toasts) that stops the clock; on release the toasts shown get a fresh life.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface ToastClock {
  /** Whether the toast with this key is still within its life (the clock stands still while held). */
  live: (key: string) => boolean;
  hold: (on: boolean) => void;
}

/** `keys`: every toast that could be shown now, in any order. */
export function useToastClock(keys: readonly string[], lifeMs: number): ToastClock {
  const shownAt = useRef(new Map<string, number>());
  const heldSince = useRef<number | undefined>(undefined);
  const [held, setHeld] = useState(false);
  const [, setTick] = useState(0);
  const now = Date.now();
  const seen = shownAt.current;
  for (const k of keys) if (!seen.has(k)) seen.set(k, now);
  // Keys of alerts the store no longer holds: keep the map as small as the list.
  if (seen.size > 2 * keys.length + 16) {
    const keep = new Set(keys);
    for (const k of seen.keys()) if (!keep.has(k)) seen.delete(k);
  }
  let next = Number.POSITIVE_INFINITY;
  if (!held)
    for (const k of keys) {
      const end = (seen.get(k) ?? now) + lifeMs;
      if (end > now && end < next) next = end;
    }
  useEffect(() => {
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(() => setTick((n) => n + 1), Math.max(0, next - Date.now()));
    return () => clearTimeout(timer);
  }, [next]);
  const hold = useCallback(
    (on: boolean) => {
      if (on) {
        heldSince.current ??= Date.now();
        setHeld(true);
        return;
      }
      const since = heldSince.current;
      heldSince.current = undefined;
      if (since !== undefined) {
        const t = Date.now();
        for (const [k, at] of shownAt.current) if (since - at < lifeMs) shownAt.current.set(k, t);
      }
      setHeld(false);
    },
    [lifeMs],
  );
  // Held: the clock stands at the hold's start, so a toast already gone stays gone.
  const at = held ? (heldSince.current ?? now) : now;
  return { live: (k) => at - (seen.get(k) ?? now) < lifeMs, hold };
}
