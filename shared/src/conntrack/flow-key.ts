/** Identity keys for conntrack entries: the kernel id when printed, else the original tuple. */
import type { FlowRecord } from './conntrack-types.js';

/** Original-direction tuple key (proto, zone, addresses, ports): unique among live entries. */
export function tupleKey(rec: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>): string {
  const o = rec.orig;
  return `${rec.proto}|${rec.zone ?? 0}|${o.src}|${o.sport ?? o.icmpId ?? ''}|${o.dst}|${o.dport ?? o.icmpType ?? ''}`;
}

/** Whether two records have the same {@link tupleKey}, without building either key (the per-event hot path). */
export function sameTupleKey(
  a: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>,
  b: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>,
): boolean {
  const x = a.orig;
  const y = b.orig;
  return (
    x.src === y.src &&
    x.dst === y.dst &&
    (x.sport ?? x.icmpId ?? '') === (y.sport ?? y.icmpId ?? '') &&
    (x.dport ?? x.icmpType ?? '') === (y.dport ?? y.icmpType ?? '') &&
    a.proto === b.proto &&
    (a.zone ?? 0) === (b.zone ?? 0)
  );
}
