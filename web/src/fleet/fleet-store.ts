/**
 * The fleet wall's data: polls `GET /api/fleet`, keeps the last snapshot when the fleet server or Prometheus
 * fails, and pauses while the tab is hidden (never in kiosk mode: a wall must not freeze).
 */
import type { FleetSnapshot } from '@ctscope/shared';

export interface FleetState {
  snapshot: FleetSnapshot | null;
  /** When the fleet server last answered (ms). */
  fetchedAt: number | null;
  /** Whether the fleet server itself answers (Prometheus's state is in the snapshot). */
  server: 'connecting' | 'ok' | 'unreachable';
  serverError: string | null;
  paused: boolean;
}

const DEFAULT_REFRESH_MS = 5000;
const MIN_REFRESH_MS = 500;

export class FleetStore {
  private state: FleetState = {
    snapshot: null,
    fetchedAt: null,
    server: 'connecting',
    serverError: null,
    paused: false,
  };
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private kiosk = false;
  private inflight: AbortController | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly doc: Pick<
      Document,
      'visibilityState' | 'addEventListener' | 'removeEventListener'
    > = document,
  ) {}

  /** `/api/fleet` on the page's origin, passing the page's `?token=` on. */
  static fromLocation(
    loc: Pick<Location, 'origin' | 'search'>,
    doc: Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'> = document,
  ): FleetStore {
    const u = new URL('/api/fleet', loc.origin);
    const token = new URLSearchParams(loc.search).get('token');
    if (token) u.searchParams.set('token', token);
    return new FleetStore(u.toString(), doc);
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getState = (): FleetState => this.state;

  private set(patch: Partial<FleetState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }

  /** Start polling; in kiosk mode visibility is ignored. */
  start(opts: { kiosk: boolean }): void {
    this.kiosk = opts.kiosk;
    if (this.running) return;
    this.running = true;
    this.doc.addEventListener('visibilitychange', this.onVisibility);
    void this.poll();
  }

  stop(): void {
    this.running = false;
    this.doc.removeEventListener('visibilitychange', this.onVisibility);
    clearTimeout(this.timer);
    this.inflight?.abort();
  }

  private onVisibility = (): void => {
    if (this.kiosk || !this.running) return;
    if (this.doc.visibilityState === 'hidden') {
      clearTimeout(this.timer);
      this.set({ paused: true });
    } else if (this.state.paused) {
      this.set({ paused: false });
      void this.poll();
    }
  };

  private refreshMs(): number {
    return Math.max(MIN_REFRESH_MS, this.state.snapshot?.refreshMs ?? DEFAULT_REFRESH_MS);
  }

  private async poll(): Promise<void> {
    clearTimeout(this.timer);
    const ctl = new AbortController();
    this.inflight = ctl;
    const timeout = setTimeout(() => ctl.abort(), Math.max(10_000, 2 * this.refreshMs()));
    try {
      const r = await fetch(this.endpoint, { signal: ctl.signal, headers: { accept: 'application/json' } });
      if (!r.ok) {
        const body = (await r.json().catch(() => ({}))) as { message?: string };
        throw new Error(`HTTP ${r.status}${body.message ? `: ${body.message}` : ''}`);
      }
      const snapshot = (await r.json()) as FleetSnapshot;
      this.set({ snapshot, fetchedAt: Date.now(), server: 'ok', serverError: null });
    } catch (err) {
      if (!this.running) return;
      const e = err as Error;
      this.set({ server: 'unreachable', serverError: e.name === 'AbortError' ? 'no answer' : e.message });
    } finally {
      clearTimeout(timeout);
      if (this.inflight === ctl) this.inflight = undefined;
    }
    if (this.running && !(this.state.paused && !this.kiosk)) {
      this.timer = setTimeout(() => void this.poll(), this.refreshMs());
    }
  }
}
