import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../src/conntrack/conntrack-types.js';
import { sameTupleKey, tupleKey } from '../src/conntrack/flow-key.js';

type Keyed = Pick<FlowRecord, 'proto' | 'orig' | 'zone'>;
const udp = (src: string, sport: number, dst: string, dport: number, zone?: number): Keyed => ({
  proto: 'udp',
  zone,
  orig: { src, dst, sport, dport },
});
const icmp = (id: number, type: number): Keyed => ({
  proto: 'icmp',
  orig: { src: '10.0.0.1', dst: '10.0.0.2', icmpId: id, icmpType: type },
});
const A = udp('10.42.0.33', 52001, '10.43.0.10', 53);

const PAIRS: Array<{ name: string; a: Keyed; b: Keyed }> = [
  { name: 'identical UDP tuples', a: A, b: udp('10.42.0.33', 52001, '10.43.0.10', 53) },
  { name: 'another source port', a: A, b: udp('10.42.0.33', 52002, '10.43.0.10', 53) },
  { name: 'source and destination swapped', a: A, b: udp('10.43.0.10', 53, '10.42.0.33', 52001) },
  { name: 'zone absent vs zone 0', a: A, b: udp('10.42.0.33', 52001, '10.43.0.10', 53, 0) },
  { name: 'zone 0 vs zone 3', a: A, b: udp('10.42.0.33', 52001, '10.43.0.10', 53, 3) },
  { name: 'same addresses, another protocol', a: A, b: { ...A, proto: 'tcp' } },
  { name: 'IPv6', a: udp('fd00::1', 5353, 'fd00:43::a', 53), b: udp('fd00::1', 5353, 'fd00:43::a', 53) },
  { name: 'ICMP, same id and type', a: icmp(7, 8), b: icmp(7, 8) },
  { name: 'ICMP, another id', a: icmp(7, 8), b: icmp(9, 8) },
  {
    name: 'ports missing on both',
    a: { proto: 'gre', orig: { src: 'a', dst: 'b' } },
    b: { proto: 'gre', orig: { src: 'a', dst: 'b' } },
  },
];

describe('sameTupleKey', () => {
  it.each(PAIRS)('$name: agrees with comparing tupleKey strings', ({ a, b }) => {
    expect(sameTupleKey(a, b)).toBe(tupleKey(a) === tupleKey(b));
    expect(sameTupleKey(b, a)).toBe(tupleKey(a) === tupleKey(b));
  });

  it('the table has both outcomes', () => {
    const outcomes = new Set(PAIRS.map(({ a, b }) => sameTupleKey(a, b)));
    expect(outcomes).toEqual(new Set([true, false]));
  });
});
