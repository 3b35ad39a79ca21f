/** Plays a recording in the browser: a local clock drives the {@link RecordingReplayer}, which feeds the store. */
import { type FlowDetail, type LoadedRecording, ReplayClock } from '@ctscope/shared';
import { LIMITS } from '../domain/dashboard-state.js';
import { outlineOfRecording } from '../domain/recording-outline.js';
import { RecordingReplayer } from '../domain/recording-replayer.js';
import type { DashboardStore } from './dashboard-store.js';
import type { ReplayControls } from './replay-controls.js';

/** Replay controls for a recording classified in this browser. */
export class LocalReplay implements ReplayControls {
  readonly replayer: RecordingReplayer;
  private readonly clock: ReplayClock;
  private seq = 0;
  private natChangesSent = -1;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly rec: LoadedRecording,
    private readonly store: DashboardStore,
    private readonly tickMs = 200,
  ) {
    // No network in between: hand the page every flow it can hold, not the server's sync cap.
    this.replayer = new RecordingReplayer(rec, { syncFlowLimit: LIMITS.flows, maxFlows: LIMITS.flows });
    this.clock = new ReplayClock(rec.start, rec.end);
  }

  /** Show the recording at `at` (default: its end, the final state), paused. */
  start(name: string, at?: number): void {
    this.store.dispatchNow({ type: 'reset', mode: 'local', recordingName: name });
    this.store.dispatch(this.replayer.hello());
    this.clock.seek(at ?? this.clock.end);
    this.replayer.advanceTo(this.clock.time);
    this.store.dispatchNow(this.replayer.sync(this.seq));
    this.natChangesSent = this.replayer.changes().length;
    this.store.dispatch({ type: 'nat-history', changes: this.replayer.changes() });
    this.store.dispatch({ type: 'replay-outline', outline: outlineOfRecording(this.rec) });
    this.publishClock();
  }

  play(): void {
    this.clock.play();
    this.timer ??= setInterval(() => this.tick(), this.tickMs);
    this.tick();
  }

  pause(): void {
    this.clock.pause();
    this.tick();
    this.stopTimer();
  }

  seek(t: number): void {
    // The shared clock throws on NaN (the server answers 400); a page control just ignores it.
    if (Number.isNaN(t)) return;
    this.clock.seek(t);
    this.tick();
  }

  setSpeed(x: number): void {
    if (Number.isNaN(x)) return;
    this.clock.setSpeed(x);
    this.publishClock();
  }

  detail(id: string): FlowDetail | undefined {
    return this.replayer.detail(id);
  }

  private tick(): void {
    const rebuilt = this.replayer.advanceTo(this.clock.time);
    this.seq++;
    this.store.dispatch(rebuilt ? this.replayer.sync(this.seq) : this.replayer.takeDelta(this.seq));
    const changes = this.replayer.changes();
    if (rebuilt || changes.length !== this.natChangesSent) {
      this.natChangesSent = changes.length;
      this.store.dispatch({ type: 'nat-history', changes });
    }
    this.publishClock();
    if (!this.clock.state().playing) this.stopTimer();
  }

  private publishClock(): void {
    this.store.dispatch({ type: 'replay-clock', clock: this.clock.state() });
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.stopTimer();
  }
}
