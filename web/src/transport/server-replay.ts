/** Replay controls for `ctscope replay`: the clock runs on the server (POST /api/replay); we poll its state. */
import type { RecordingOutline, ReplayClockState } from '@ctscope/shared';
import type { ApiClient } from './api-client.js';
import type { DashboardStore } from './dashboard-store.js';
import type { ReplayControls } from './replay-controls.js';

/** Replay controls backed by /api/replay. */
export class ServerReplay implements ReplayControls {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly store: DashboardStore,
    private readonly pollMs = 1000,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.refresh(), this.pollMs);
    void this.refresh();
    void this.loadOutline();
  }

  /**
   * The recording's outline from its index (it does not change while replaying). Retried a few times: a busy
   * server may time out; an older one without the route answers 404 and the bar works without the strip.
   */
  private async loadOutline(attempt = 1): Promise<void> {
    try {
      const outline = await this.api.get<RecordingOutline>('/api/replay/index');
      this.store.dispatch({ type: 'replay-outline', outline });
    } catch (err) {
      if ((err as { status?: number }).status === 404 || attempt >= 5 || !this.timer) return;
      setTimeout(() => void this.loadOutline(attempt + 1), 2000 * attempt);
    }
  }

  play(): void {
    void this.control({ action: 'play' });
  }
  pause(): void {
    void this.control({ action: 'pause' });
  }
  seek(t: number): void {
    void this.control({ action: 'seek', t: Math.round(t) });
  }
  setSpeed(x: number): void {
    void this.control({ action: 'speed', speed: x });
  }

  private async control(body: { action: string; t?: number; speed?: number }): Promise<void> {
    try {
      this.publish(await this.api.post<ReplayClockState>('/api/replay', body));
    } catch (err) {
      this.onError((err as Error).message);
    }
  }

  private async refresh(): Promise<void> {
    try {
      this.publish(await this.api.get<ReplayClockState>('/api/replay'));
    } catch {
      // The connection manager reports the server being away; nothing to add here.
    }
  }

  private publish(clock: ReplayClockState): void {
    this.store.dispatch({ type: 'replay-clock', clock });
  }

  dispose(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
