/** Merges a flow's history and timeout readings into lifecycle lines, marking every observed timeout reset. */
import {
  type AutoRemedyAction,
  DEFAULT_RESET_TOLERANCE_S,
  type FlowHistoryEntry,
  remedyMarkerText,
  type TimeoutObservation,
} from '@ctscope/shared';
import { formatClockMs } from './format.js';

/** One lifecycle line of a flow. */
export interface LifecycleLine {
  at: number;
  /** NEW, UPDATE, DESTROY, or LIST for a dump/poll reading. */
  event: FlowHistoryEntry['event'];
  timeout?: number;
  unreplied: boolean;
  /** Set when this reading shows the timeout was reset since the previous one (the same rule as the classifier). */
  reset?: { expected: number; seen: number };
}

/** Lines in time order; readings present in both lists appear once. */
export function lifecycleLines(
  history: readonly FlowHistoryEntry[],
  timeouts: readonly TimeoutObservation[] = [],
  toleranceS = DEFAULT_RESET_TOLERANCE_S,
): LifecycleLine[] {
  const lines: LifecycleLine[] = history.map((h) => ({
    at: h.at,
    event: h.event,
    timeout: h.timeout,
    unreplied: h.unreplied,
  }));
  const seen = new Set(lines.map((l) => `${l.at}|${l.timeout}`));
  for (const o of timeouts) {
    if (o.timeout !== undefined && !seen.has(`${o.at}|${o.timeout}`))
      lines.push({ at: o.at, event: 'LIST', timeout: o.timeout, unreplied: o.unreplied });
  }
  lines.sort((a, b) => a.at - b.at);
  let prev: LifecycleLine | undefined;
  for (const l of lines) {
    if (l.timeout === undefined || l.event === 'DESTROY') continue;
    if (prev?.unreplied && l.unreplied && prev.timeout !== undefined) {
      const elapsedS = (l.at - prev.at) / 1000;
      const expected = prev.timeout - elapsedS;
      if (elapsedS > toleranceS && l.timeout > expected + toleranceS) {
        l.reset = { expected: Math.max(0, Math.round(expected)), seen: l.timeout };
      }
    }
    prev = l;
  }
  return lines;
}

/** One raw-looking line: `12:00:01.031 [NEW]     timeout=30 [UNREPLIED]  ↻ reset (expected 27s)`. */
export function formatLifecycleLine(l: LifecycleLine): string {
  const tag = `[${l.event}]`.padEnd(9);
  const parts = [formatClockMs(l.at), tag];
  if (l.timeout !== undefined) parts.push(`timeout=${l.timeout}`);
  if (l.unreplied) parts.push('[UNREPLIED]');
  if (l.reset) parts.push(`↻ timeout reset (would be ${l.reset.expected}s, read ${l.reset.seen}s)`);
  return parts.join(' ');
}

/** The lifecycle as text, with auto-remedy actions interleaved at their times. */
export function lifecycleText(
  lines: readonly LifecycleLine[],
  actions: readonly AutoRemedyAction[] = [],
): string[] {
  const rows: Array<{ at: number; text: string }> = lines.map((l) => ({
    at: l.at,
    text: formatLifecycleLine(l),
  }));
  for (const a of actions)
    rows.push({ at: a.t, text: `${formatClockMs(a.t)} [AUTO]    ${remedyMarkerText(a)}` });
  return rows.sort((x, y) => x.at - y.at).map((r) => r.text);
}
