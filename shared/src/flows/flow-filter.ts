/** What a client may filter flows by, the one check of a filter from outside, and matching reports against it. */

import {
  isSeverity,
  isVerdict,
  SEVERITIES,
  type Severity,
  VERDICTS,
  type Verdict,
} from '../verdict/verdicts.js';
import type { FlowReport } from './flow-report.js';

/** Server-side filter a client subscribes with; every field narrows. */
export interface FlowFilter {
  /** Only these verdicts. */
  verdict?: Verdict[];
  /** Only these severities. */
  severity?: Severity[];
  /** Any tuple address equals this. */
  ip?: string;
  /** Any tuple port equals this. */
  port?: number;
  /** Service name contains this. */
  service?: string;
  /** Free text over tuples, service, verdict and reason. */
  text?: string;
}

/** True when every set field of the filter matches. */
export function matchesFilter(f: FlowReport, filter: FlowFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.verdict?.length && !filter.verdict.includes(f.verdict)) return false;
  if (filter.severity?.length && !filter.severity.includes(f.severity)) return false;
  if (
    filter.ip &&
    f.orig.src !== filter.ip &&
    f.orig.dst !== filter.ip &&
    f.reply.src !== filter.ip &&
    f.reply.dst !== filter.ip
  ) {
    return false;
  }
  if (
    filter.port !== undefined &&
    f.orig.sport !== filter.port &&
    f.orig.dport !== filter.port &&
    f.reply.sport !== filter.port &&
    f.reply.dport !== filter.port
  ) {
    return false;
  }
  if (filter.service && !(f.service ?? '').toLowerCase().includes(filter.service.toLowerCase())) return false;
  if (filter.text) {
    const needle = filter.text.toLowerCase();
    const hay =
      `${f.id} ${f.orig.src}:${f.orig.sport} ${f.orig.dst}:${f.orig.dport} ${f.reply.src}:${f.reply.sport} ${f.reply.dst}:${f.reply.dport} ${f.service ?? ''} ${f.verdict} ${f.reason}`.toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}

/** True when the filter has no constraint. */
export function isEmptyFilter(filter: FlowFilter | undefined): boolean {
  return (
    !filter ||
    Object.values(filter).every((v) => v === undefined || (Array.isArray(v) && v.length === 0) || v === '')
  );
}

/** Most entries a list field may hold: a bound on hostile input, above the number of verdicts. */
const MAX_LIST = 8;
/** Longest string field. */
const MAX_TEXT = 256;

/**
 * The one check of a filter from outside: a WebSocket `subscribe` (lists as arrays) or a query string (lists
 * comma-separated). Returns the filter, or why it is not one.
 */
export function parseFlowFilter(value: unknown): FlowFilter | { error: string } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return { error: 'filter must be an object' };
  const out: FlowFilter = {};
  for (const [k, x] of Object.entries(value)) {
    if (x === undefined) continue;
    switch (k) {
      case 'verdict': {
        const list = parseList(x, k, isVerdict, VERDICTS);
        if ('error' in list) return list;
        out.verdict = list.ok;
        break;
      }
      case 'severity': {
        const list = parseList(x, k, isSeverity, SEVERITIES);
        if ('error' in list) return list;
        out.severity = list.ok;
        break;
      }
      case 'ip':
      case 'service':
      case 'text':
        if (typeof x !== 'string' || x.length > MAX_TEXT)
          return { error: `filter.${k} must be a string of at most ${MAX_TEXT} characters` };
        out[k] = x;
        break;
      case 'port':
        if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 65535)
          return { error: 'filter.port must be 0-65535' };
        out.port = x;
        break;
      default:
        // Never echo what was sent: name the allowed fields instead.
        return { error: 'unknown filter field (allowed: verdict, severity, ip, port, service, text)' };
    }
  }
  return out;
}

/** A list given as an array or as one comma-separated string, every entry one of `allowed`. */
function parseList<T extends string>(
  x: unknown,
  field: string,
  is: (e: unknown) => e is T,
  allowed: readonly T[],
): { ok: T[] } | { error: string } {
  const list: unknown = typeof x === 'string' ? x.split(',') : x;
  const expected = `filter.${field} must be a list of ${allowed.join(', ')}`;
  if (!Array.isArray(list) || list.length > MAX_LIST) return { error: expected };
  const bad = list.find((e) => !is(e));
  if (bad !== undefined) return { error: `unknown ${field} ${JSON.stringify(bad)}: ${expected}` };
  return { ok: list as T[] };
}
