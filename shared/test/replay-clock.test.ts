import { describe, expect, it } from 'vitest';
import { ReplayClock } from '../src/index.js';

const START = 1_714_528_984_000;
const END = START + 60_000;

/** A clock over [START, END] driven by a hand-moved wall clock. */
function make(start = START, end = END) {
  const wall = { t: 5_000 };
  const clock = new ReplayClock(start, end, () => wall.t);
  return { clock, wall };
}

describe('ReplayClock', () => {
  it('starts paused at start with speed 1', () => {
    const { clock, wall } = make();
    wall.t += 10_000;
    expect(clock.state()).toEqual({ playing: false, speed: 1, time: START, start: START, end: END });
  });

  it('advances with wall time while playing and freezes on pause', () => {
    const { clock, wall } = make();
    clock.play();
    wall.t += 1_500;
    expect(clock.time).toBe(START + 1_500);
    clock.pause();
    wall.t += 10_000;
    expect(clock.time).toBe(START + 1_500);
    clock.play();
    wall.t += 500;
    expect(clock.state()).toMatchObject({ playing: true, time: START + 2_000 });
  });

  it.each([
    [2, 2],
    [0.5, 0.5],
    [0.1, 0.1],
    [100, 100],
    [0, 0.1],
    [-3, 0.1],
    [0.01, 0.1],
    [1000, 100],
    [Number.POSITIVE_INFINITY, 100],
  ])('setSpeed(%s) gives speed %s and scales elapsed time', (x, speed) => {
    const { clock, wall } = make(START, START + 1e9);
    clock.play();
    clock.setSpeed(x);
    wall.t += 1_000;
    expect(clock.state().speed).toBe(speed);
    expect(clock.time).toBeCloseTo(START + 1_000 * speed, 6);
  });

  it('changing speed mid-play keeps the time reached so far', () => {
    const { clock, wall } = make();
    clock.play();
    wall.t += 1_000;
    clock.setSpeed(10);
    expect(clock.time).toBe(START + 1_000);
    wall.t += 1_000;
    expect(clock.time).toBe(START + 11_000);
  });

  it.each([
    ['inside', START + 30_000, START + 30_000],
    ['at start', START, START],
    ['at end', END, END],
    ['before start', START - 1, START],
    ['after end', END + 1e6, END],
    ['-Infinity', Number.NEGATIVE_INFINITY, START],
  ])('seek %s clamps to the interval', (_name, t, want) => {
    const { clock } = make();
    clock.seek(t);
    expect(clock.time).toBe(want);
  });

  it('seeking while playing continues from the new time', () => {
    const { clock, wall } = make();
    clock.play();
    wall.t += 1_000;
    clock.seek(START + 40_000);
    wall.t += 2_000;
    expect(clock.state()).toMatchObject({ playing: true, time: START + 42_000 });
  });

  it('stops at end and reports not playing', () => {
    const { clock, wall } = make();
    clock.setSpeed(10);
    clock.play();
    wall.t += 5_999;
    expect(clock.state()).toMatchObject({ playing: true, time: START + 59_990 });
    wall.t += 1;
    expect(clock.state()).toMatchObject({ playing: false, time: END });
    wall.t += 100_000;
    expect(clock.time).toBe(END);
  });

  it('play at end restarts from start', () => {
    const { clock, wall } = make();
    clock.seek(END);
    clock.play();
    wall.t += 100;
    expect(clock.state()).toMatchObject({ playing: true, time: START + 100 });
  });

  it('an empty interval never plays', () => {
    const { clock, wall } = make(START, START);
    clock.play();
    wall.t += 100;
    expect(clock.state()).toMatchObject({ playing: false, time: START });
  });

  it('a wall clock stepping back does not rewind the replay', () => {
    const { clock, wall } = make();
    clock.play();
    wall.t += 1_000;
    expect(clock.time).toBe(START + 1_000);
    wall.t -= 5_000;
    expect(clock.time).toBe(START + 1_000);
    wall.t += 500;
    expect(clock.time).toBe(START + 1_500);
  });

  it.each([
    ['end before start', () => new ReplayClock(END, START)],
    ['NaN start', () => new ReplayClock(Number.NaN, END)],
    ['NaN speed', () => make().clock.setSpeed(Number.NaN)],
    ['NaN seek', () => make().clock.seek(Number.NaN)],
  ])('rejects %s', (_name, f) => {
    expect(f).toThrow(RangeError);
  });

  it('uses a monotonic default wall clock', () => {
    const clock = new ReplayClock(START, END);
    clock.play();
    const t = clock.time;
    expect(t).toBeGreaterThanOrEqual(START);
    expect(t).toBeLessThan(START + 1_000);
  });
});
