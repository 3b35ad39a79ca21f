import { describe, expect, it } from 'vitest';
import { countTimeoutResets, isKeptAlive, type TimeoutObservation } from '../src/index.js';

const obs = (...xs: Array<[number, number, boolean?]>): TimeoutObservation[] =>
  xs.map(([at, timeout, unreplied = true]) => ({ at, timeout, unreplied }));

const cases: Array<{ name: string; o: TimeoutObservation[]; resets: number; kept: boolean }> = [
  {
    name: 'refreshed every poll (seed sport 52001)',
    o: obs([0, 29], [3000, 29], [6000, 29], [9000, 29]),
    resets: 3,
    kept: true,
  },
  {
    name: 'counting down (seed random ports)',
    o: obs([0, 28], [3000, 25], [6000, 22], [9000, 19]),
    resets: 0,
    kept: false,
  },
  {
    name: 'counting down with truncation jitter',
    o: obs([0, 28], [3100, 26], [6000, 22]),
    resets: 0,
    kept: false,
  },
  { name: 'one reset then counting down', o: obs([0, 20], [5000, 29], [8000, 26]), resets: 1, kept: true },
  {
    name: 'polls too close together to tell',
    o: obs([0, 29], [500, 29], [1000, 29]),
    resets: 0,
    kept: false,
  },
  {
    name: 'answered now: refreshes are normal',
    o: obs([0, 29], [3000, 29], [6000, 120, false]),
    resets: 1,
    kept: false,
  },
  { name: 'single reading', o: obs([0, 29]), resets: 0, kept: false },
  { name: 'no readings', o: [], resets: 0, kept: false },
];

describe('keep-alive detection', () => {
  it.each(cases)('$name', ({ o, resets, kept }) => {
    expect(countTimeoutResets(o)).toBe(resets);
    expect(isKeptAlive(o)).toBe(kept);
  });
});

describe('keep-alive detection with polls closer than the tolerance', () => {
  it.each([
    {
      name: '1 s polls, refreshed every second',
      o: obs([0, 29], [1000, 29], [2000, 29], [3000, 29]),
      kept: true,
    },
    { name: '1 s polls, counting down', o: obs([0, 29], [1000, 28], [2000, 27], [3000, 26]), kept: false },
  ])('$name', ({ o, kept }) => {
    expect(isKeptAlive(o)).toBe(kept);
  });
});
