/** Maps wall time onto recording time for an in-browser replay: play, pause, speed, seek; polled, no timers. */

/** Slowest speed (recording ms per wall ms), as the server allows. */
export const MIN_REPLAY_SPEED = 0.1;
/** Fastest speed. */
export const MAX_REPLAY_SPEED = 100;

/** The same shape as the server's GET /api/replay. */
export interface ReplayClockState {
  playing: boolean;
  speed: number;
  time: number;
  start: number;
  end: number;
}

/** A pausable, seekable clock over [start, end] that stops at the end. */
export class ReplayClock {
  private playing = false;
  private speed = 1;
  private anchorTime: number;
  private anchorWall: number;

  constructor(
    readonly start: number,
    readonly end: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(end >= start)) throw new RangeError(`invalid replay interval [${start}, ${end}]`);
    this.anchorTime = start;
    this.anchorWall = now();
  }

  /** Current recording time; reaching `end` stops the clock there. */
  get time(): number {
    if (!this.playing) return this.anchorTime;
    const t = this.anchorTime + Math.max(0, this.now() - this.anchorWall) * this.speed;
    if (t >= this.end) {
      this.playing = false;
      this.anchorTime = this.end;
      return this.end;
    }
    return t;
  }

  /** Plays from the current time; at the end it starts over. */
  play(): void {
    const t = this.time;
    if (this.playing) return;
    this.anchor(t >= this.end ? this.start : t);
    this.playing = this.end > this.start;
  }

  pause(): void {
    this.anchor(this.time);
    this.playing = false;
  }

  setSpeed(x: number): void {
    if (Number.isNaN(x)) return;
    this.anchor(this.time);
    this.speed = Math.min(MAX_REPLAY_SPEED, Math.max(MIN_REPLAY_SPEED, x));
  }

  seek(t: number): void {
    if (Number.isNaN(t)) return;
    this.anchor(Math.min(this.end, Math.max(this.start, t)));
    if (this.anchorTime >= this.end) this.playing = false;
  }

  state(): ReplayClockState {
    const time = this.time;
    return { playing: this.playing, speed: this.speed, time, start: this.start, end: this.end };
  }

  private anchor(t: number): void {
    this.anchorTime = t;
    this.anchorWall = this.now();
  }
}
