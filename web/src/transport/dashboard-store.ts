/**
 * Holds the dashboard state outside React. Actions are reduced as they arrive (so the resume seq is always
 * current) but listeners hear about it at most every `minIntervalMs`: at 10k events/s the page renders about
 * ten times a second. The trailing notify runs on a timer; a notify also fires straight from an incoming
 * action once the interval has passed, so throttled background timers cannot stall a wall display.
 */
import { type DashboardAction, type DashboardState, initialState } from '../domain/dashboard-state.js';
import { reduce } from '../domain/flow-reducer.js';

/** Reducer host with rate-limited change notification. */
export class DashboardStore {
  private state: DashboardState;
  private readonly listeners = new Set<() => void>();
  private lastNotify = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Times the listeners were notified, for tests and the render-rate budget. */
  notifications = 0;

  constructor(
    initial: DashboardState = initialState(),
    private readonly minIntervalMs = 100,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.state = initial;
  }

  getState = (): DashboardState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Reduce now, notify within the rate limit. */
  dispatch(action: DashboardAction): void {
    const next = reduce(this.state, action);
    if (next === this.state) return;
    this.state = next;
    this.schedule();
  }

  /** Reduce and notify at once (user actions that must show without delay). */
  dispatchNow(action: DashboardAction): void {
    this.state = reduce(this.state, action);
    this.flush();
  }

  private schedule(): void {
    const wait = this.lastNotify + this.minIntervalMs - this.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastNotify = this.now();
    this.notifications++;
    for (const l of this.listeners) l();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }
}
