/** Matches flow reports against a {@link FlowFilter}: used server-side per client and by the REST API. */

import type { FlowFilter } from '../wire/protocol.js';
import type { FlowReport } from './flow-report.js';

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

const VERDICTS = new Set(['ok', 'no-dnat', 'stale-endpoint', 'no-endpoints', 'unanswered']);
const SEVERITIES = new Set(['critical', 'warning', 'ok']);

/** Check a filter that came from outside (a WebSocket `subscribe`): the filter, or why it is not one. */
export function parseFlowFilter(value: unknown): FlowFilter | { error: string } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return { error: 'filter must be an object' };
  const v = value as Record<string, unknown>;
  const out: FlowFilter = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    switch (k) {
      case 'verdict':
      case 'severity': {
        const allowed = k === 'verdict' ? VERDICTS : SEVERITIES;
        if (!Array.isArray(x) || x.length > 8 || !x.every((e) => typeof e === 'string' && allowed.has(e))) {
          return { error: `filter.${k} must be a list of ${[...allowed].join(', ')}` };
        }
        (out as Record<string, unknown>)[k] = x;
        break;
      }
      case 'ip':
      case 'service':
      case 'text':
        if (typeof x !== 'string' || x.length > 256)
          return { error: `filter.${k} must be a string of at most 256 characters` };
        out[k] = x;
        break;
      case 'port':
        if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 65535)
          return { error: 'filter.port must be 0-65535' };
        out.port = x;
        break;
      default:
        return { error: `unknown filter field ${JSON.stringify(k)}` };
    }
  }
  return out;
}
