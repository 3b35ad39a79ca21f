/**
 * A value that follows its input at most once per `ms` (trailing edge kept), for expensive derived views.
 * When `generation` changes (a full sync: new source, scrub) the new value passes at once.
 */
import { useEffect, useRef, useState } from 'react';

/** Throttle `value` to one change per `ms`. */
export function useThrottled<T>(value: T, ms: number, generation = 0): T {
  const [out, setOut] = useState(value);
  const last = useRef(0);
  const latest = useRef(value);
  const gen = useRef(generation);
  latest.current = value;
  useEffect(() => {
    const fresh = gen.current !== generation;
    gen.current = generation;
    const wait = fresh ? 0 : last.current + ms - Date.now();
    if (wait <= 0) {
      last.current = Date.now();
      setOut(value);
      return;
    }
    const timer = setTimeout(() => {
      last.current = Date.now();
      setOut(latest.current);
    }, wait);
    return () => clearTimeout(timer);
  }, [value, ms, generation]);
  return out;
}
