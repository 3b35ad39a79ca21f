/** The per-service bad-flow series stay bounded: worst services first, the rest summed into "other". */
import { describe, expect, it } from 'vitest';
import { METRICS_NO_SERVICE } from '../../src/config.js';
import { boundedServiceCounts } from '../../src/http/metrics.js';

const c = (critical: number, warning = 0) => ({ critical, warning });

const CASES: Array<{
  name: string;
  input: Record<string, { critical: number; warning: number }>;
  max: number;
  want: Array<[string, 'critical' | 'warning', number]>;
}> = [
  { name: 'nothing bad', input: {}, max: 3, want: [] },
  {
    name: 'no matched service gets a label of its own',
    input: { '': c(2) },
    max: 3,
    want: [[METRICS_NO_SERVICE, 'critical', 2]],
  },
  {
    name: 'critical and warning of one service',
    input: { 'kube-system/kube-dns:dns': c(2, 1) },
    max: 3,
    want: [
      ['kube-system/kube-dns:dns', 'critical', 2],
      ['kube-system/kube-dns:dns', 'warning', 1],
    ],
  },
  {
    name: 'over the cap: worst kept, rest summed into other',
    input: { a: c(0, 5), b: c(3), c: c(1, 1), d: c(0, 2), e: c(1) },
    max: 2,
    want: [
      ['b', 'critical', 3],
      ['c', 'critical', 1],
      ['c', 'warning', 1],
      ['other', 'critical', 1],
      ['other', 'warning', 7],
    ],
  },
];

describe('boundedServiceCounts', () => {
  it.each(CASES)('$name', ({ input, max, want }) => {
    expect(boundedServiceCounts(input, max).map((r) => [r.service, r.severity, r.n])).toEqual(want);
  });

  it('never yields more than 2 × (max + 1) series, whatever the number of services', () => {
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`ns/svc-${i}:p`, c(i % 3, 1)]));
    expect(boundedServiceCounts(many, 20).length).toBeLessThanOrEqual(42);
  });
});
