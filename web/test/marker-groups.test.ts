import type { TimelineMarker } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import { groupMarkerRuns, groupMarkersByBin } from '../src/domain/marker-groups.js';

const gap = (t: number, text = 'event loss (ENOBUFS)'): TimelineMarker => ({ t, kind: 'gap', text });
const nat = (t: number, text = 'kube-dns endpoints removed'): TimelineMarker => ({
  t,
  kind: 'nat-change',
  text,
});

describe('marker groups', () => {
  const byBin: Array<{
    name: string;
    markers: TimelineMarker[];
    bin: number;
    max: number;
    want: Array<[number, string, number]>;
  }> = [
    { name: 'none', markers: [], bin: 1000, max: 10, want: [] },
    {
      name: 'a flood of gaps in one bin is one line',
      markers: [gap(0), gap(100), gap(200), gap(999)],
      bin: 1000,
      max: 10,
      want: [[0, 'gap', 4]],
    },
    {
      name: 'kinds never merge',
      markers: [gap(0), nat(10), gap(20)],
      bin: 1000,
      max: 10,
      want: [
        [0, 'gap', 2],
        [10, 'nat-change', 1],
      ],
    },
    {
      name: 'a bin starts at its first marker',
      markers: [gap(0), gap(999), gap(1000), gap(1500)],
      bin: 1000,
      max: 10,
      want: [
        [0, 'gap', 2],
        [1000, 'gap', 2],
      ],
    },
    {
      name: 'keeps the newest groups',
      markers: [gap(0), gap(2000), gap(4000)],
      bin: 1000,
      max: 2,
      want: [
        [2000, 'gap', 1],
        [4000, 'gap', 1],
      ],
    },
  ];
  for (const c of byBin) {
    it(`by bin: ${c.name}`, () => {
      expect(groupMarkersByBin(c.markers, c.bin, c.max).map((g) => [g.t, g.kind, g.count])).toEqual(c.want);
    });
  }

  it('folds runs of the same kind and text in lists, keeping first and last time', () => {
    const groups = groupMarkerRuns([gap(1), gap(2), gap(3), nat(4), gap(5), gap(6, 'other gap')]);
    expect(groups.map((g) => [g.t, g.last, g.kind, g.count])).toEqual([
      [1, 3, 'gap', 3],
      [4, 4, 'nat-change', 1],
      [5, 5, 'gap', 1],
      [6, 6, 'gap', 1],
    ]);
  });
});
