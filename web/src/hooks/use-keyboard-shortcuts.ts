/** Document-level single-key shortcuts, ignored while typing in a field (except Escape). */
import { useEffect, useRef } from 'react';

/** A key (as `KeyboardEvent.key`) and its handler. */
export type Shortcut = [key: string, handler: (e: KeyboardEvent) => void];

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
}

/** Bind shortcuts for the life of the component. */
export function useKeyboardShortcuts(shortcuts: readonly Shortcut[], enabled = true): void {
  const ref = useRef(new Map(shortcuts));
  ref.current = new Map(shortcuts);
  useEffect(() => {
    if (!enabled) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key !== 'Escape' && isTyping(e.target)) return;
      // Space and Enter on a focused control belong to that control.
      if (
        (e.key === ' ' || e.key === 'Enter') &&
        (e.target as HTMLElement | null)?.closest?.('button, a, [role="button"]')
      )
        return;
      const h = ref.current.get(e.key);
      if (!h) return;
      e.preventDefault();
      h(e);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [enabled]);
}
