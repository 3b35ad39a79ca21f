/** The play/pause/speed/seek surface the replay bar drives, whether the clock runs on the server or here. */
import type { ReplayClockState } from '@ctscope/shared';

/** Replay transport operations. */
export interface ReplayControls {
  play(): void;
  pause(): void;
  seek(t: number): void;
  setSpeed(x: number): void;
  /** Stop timers and polling. */
  dispose(): void;
}

/** Re-exported so components need not reach into domain/. */
export type { ReplayClockState };
