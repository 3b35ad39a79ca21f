/** Identity keys for conntrack entries: the kernel id when printed, else the original tuple. */
import type { FlowRecord } from './conntrack-types.js';

/** Original-direction tuple key (proto, zone, addresses, ports): unique among live entries. */
export function tupleKey(rec: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>): string {
  const o = rec.orig;
  return `${rec.proto}|${rec.zone ?? 0}|${o.src}|${o.sport ?? o.icmpId ?? ''}|${o.dst}|${o.dport ?? o.icmpType ?? ''}`;
}
