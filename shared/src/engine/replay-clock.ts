/** Maps wall time onto recording time for replay: play/pause/speed/seek, no timers (callers poll `time`). */

/** The host's monotonic clock (Node and browsers both have it); declared here because shared has no DOM/Node types. */
declare const performance: { now(): number };

/** Slowest replay speed (recording ms per wall ms). */
export const MIN_REPLAY_SPEED = 0.1;
/** Fastest replay speed. */
export const MAX_REPLAY_SPEED = 100;

/** Snapshot of a {@link ReplayClock}. */
export interface ReplayClockState {
  playing: boolean;
  speed: number;
  /** Current recording time, ms since the epoch. */
  time: number;
  start: number;
  end: number;
}

/** A pausable, seekable clock over the recording interval [start, end] that stops at `end`. */
export class ReplayClock {
  readonly start: number;
  readonly end: number;
  readonly #now: () => number;
  #playing = false;
  #speed = 1;
  /** Recording time at wall time `#anchorWall`; the clock is linear from this anchor while playing. */
  #anchorTime: number;
  #anchorWall: number;
  #lastWall: number;

  /** `now` is the wall clock in ms; the default is monotonic so clock steps do not jump the replay. */
  constructor(start: number, end: number, now: () => number = () => performance.now()) {
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start)
      throw new RangeError(`invalid replay interval [${start}, ${end}]`);
    this.start = start;
    this.end = end;
    this.#now = now;
    this.#anchorTime = start;
    this.#anchorWall = now();
    this.#lastWall = this.#anchorWall;
  }

  /** Current recording time; reaching `end` stops the clock there. */
  get time(): number {
    if (!this.#playing) return this.#anchorTime;
    const t = this.#anchorTime + (this.#wall() - this.#anchorWall) * this.#speed;
    if (t >= this.end) {
      this.#playing = false;
      this.#anchorTime = this.end;
      return this.end;
    }
    return t;
  }

  /** Starts (or continues) playing; at `end` it restarts from `start`. */
  play(): void {
    const t = this.time;
    if (this.#playing) return;
    this.#anchor(t >= this.end ? this.start : t);
    this.#playing = this.end > this.start;
  }

  /** Freezes the clock at the current time. */
  pause(): void {
    this.#anchor(this.time);
    this.#playing = false;
  }

  /** Sets the replay speed, clamped to [0.1, 100]; the current time is kept. */
  setSpeed(x: number): void {
    if (Number.isNaN(x)) throw new RangeError('speed must be a number');
    this.#anchor(this.time);
    this.#speed = Math.min(MAX_REPLAY_SPEED, Math.max(MIN_REPLAY_SPEED, x));
  }

  /** Jumps to recording time `t`, clamped to [start, end]; playing continues from there. */
  seek(t: number): void {
    if (Number.isNaN(t)) throw new RangeError('seek time must be a number');
    this.#anchor(Math.min(this.end, Math.max(this.start, t)));
    if (this.#anchorTime >= this.end) this.#playing = false;
  }

  /** Snapshot for the UI and the protocol. */
  state(): ReplayClockState {
    const time = this.time;
    return { playing: this.#playing, speed: this.#speed, time, start: this.start, end: this.end };
  }

  #anchor(t: number): void {
    this.#anchorTime = t;
    this.#anchorWall = this.#wall();
  }

  /** `now()`, with any backward step absorbed into the anchor so the replay never rewinds by itself. */
  #wall(): number {
    const n = this.#now();
    if (n < this.#lastWall) this.#anchorWall -= this.#lastWall - n;
    this.#lastWall = n;
    return n;
  }
}
