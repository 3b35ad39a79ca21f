/** Matches flow reports against a {@link FlowFilter}: used server-side per client and by the REST API. */
import type { FlowReport } from './flow-report.js';
import type { FlowFilter } from './protocol.js';

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
