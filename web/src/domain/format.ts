/** Text formatting for tuples, times, durations, rates and verdicts, shared by every view. */
import { type FlowReport, formatHostPort, type Severity, type Verdict } from '@ctscope/shared';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `HH:MM:SS` in local time. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `HH:MM:SS.mmm` in local time, for lifecycle lines. */
export function formatClockMs(ms: number): string {
  return `${formatClock(ms)}.${pad(Math.floor(ms) % 1000, 3)}`;
}

/** `YYYY-MM-DD HH:MM:SS` in local time. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatClock(ms)}`;
}

/** Compact duration: `850ms`, `42s`, `3m 05s`, `2h 07m`, `3d 4h`. Negative values read as 0. */
export function formatDuration(ms: number): string {
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)}ms`;
  const s = Math.floor(v / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${pad(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** `12`, `1.2k`, `45k`, `1.3M`. */
export function formatCount(n: number): string {
  const a = Math.abs(n);
  if (a < 1000) return String(Math.round(n * 10) / 10);
  if (a < 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (a < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** A 0..1 ratio as a percentage with sensible precision (`0.006%`, `4.2%`, `87%`). */
export function formatPercent(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '–';
  const p = ratio * 100;
  if (p === 0) return '0%';
  if (p < 0.01) return '<0.01%';
  if (p < 1) return `${p.toFixed(2)}%`;
  if (p < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

/** `10.42.0.33:52001 → 10.43.0.10:53`. */
export function formatOrig(f: FlowReport): string {
  return `${formatHostPort(f.orig.src, f.orig.sport)} → ${formatHostPort(f.orig.dst, f.orig.dport)}`;
}

/** `10.43.0.10:53 → 172.20.112.199:20978`. */
export function formatReply(f: FlowReport): string {
  return `${formatHostPort(f.reply.src, f.reply.sport)} → ${formatHostPort(f.reply.dst, f.reply.dport)}`;
}

/** A frontend key (`udp|fd00:43::a|53`, ip `*` for nodeports) as `[fd00:43::a]:53/udp`. */
export function formatFrontendKey(key: string): string {
  const [proto, ip, port] = key.split('|');
  if (proto === undefined || ip === undefined || port === undefined) return key;
  return `${formatHostPort(ip, Number(port))}/${proto}`;
}

/** Age of a flow at `now`: since its NEW when seen, else since first observed. */
export function flowAgeMs(f: FlowReport, now: number): number {
  return Math.max(0, (f.destroyedAt ?? now) - (f.createdAt ?? f.firstSeen));
}

/**
 * Seconds until the entry expires if nothing refreshes it (its last timeout reading minus the time since),
 * undefined when unknown, 0 once past.
 */
export function expiresInS(f: FlowReport, now: number): number | undefined {
  if (f.timeout === undefined || f.destroyedAt !== undefined) return undefined;
  // Clamped to the last reading: a clock coarser than the reading must not add time.
  return Math.max(0, Math.min(f.timeout, f.timeout - (now - f.lastSeen) / 1000));
}

/** What the timeout column says: destroyed, never (kept alive), or the expiry countdown. */
export function formatExpiry(f: FlowReport, now: number): string {
  if (f.destroyedAt !== undefined) return `gone ${formatDuration(now - f.destroyedAt)} ago`;
  if (f.keptAlive) return `never: reset ×${f.timeoutResets}`;
  const s = expiresInS(f, now);
  return s === undefined ? '–' : `in ${Math.ceil(s)}s (of ${f.timeout}s)`;
}

/** Icon and word per severity: colour is never the only cue. */
export const SEVERITY_LABEL: Record<Severity, { icon: string; text: string }> = {
  critical: { icon: '✖', text: 'critical' },
  warning: { icon: '⚠', text: 'warning' },
  ok: { icon: '✓', text: 'ok' },
};

/** Short human names for verdicts. */
export const VERDICT_LABEL: Record<Verdict, string> = {
  'no-dnat': 'no DNAT',
  'stale-endpoint': 'stale endpoint',
  'no-endpoints': 'no endpoints',
  unanswered: 'unanswered',
  blocked: 'blocked',
  ok: 'ok',
};

/** A whole number rate with a unit, e.g. `12.5/s`. */
export function formatRate(perSecond: number | undefined, unit = '/s'): string {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return '–';
  return `${perSecond < 10 ? Math.round(perSecond * 10) / 10 : Math.round(perSecond)}${unit}`;
}
