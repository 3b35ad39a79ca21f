/** Runs a source under supervision: restart with exponential backoff, and a visible state. */
import type { SourceState } from '@ctscope/shared';

/**
 * One attempt of a source: resolves when it ends normally, rejects with the failure. It calls `ready()` once it
 * works (e.g. after its first successful poll); a run that never does is considered running after `readyAfterMs`.
 */
export type SourceRun = (signal: AbortSignal, ready: () => void) => Promise<void>;

export interface SupervisorOptions {
  /** Source name shown to users. */
  name: string;
  /** The work. A long-running source runs until it fails; a periodic one is wrapped by {@link periodic}. */
  run: SourceRun;
  /** Called on every state change. */
  onState: (s: SourceState) => void;
  /** First backoff, ms. Default 500. */
  minBackoffMs?: number;
  /** Max backoff, ms. Default 30 s. */
  maxBackoffMs?: number;
  /** Called before each restart (not the first start), e.g. to mark an event gap. */
  onRestart?: (attempt: number, lastError: string | undefined) => void;
  /** A run that has not failed for this long counts as running even if it never called ready(). Default 1000. */
  readyAfterMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Supervises one source until stopped. A run that lasted > 30 s resets the backoff. */
export class Supervisor {
  private controller = new AbortController();
  private current: SourceState;
  private loop: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: SupervisorOptions) {
    this.now = opts.now ?? Date.now;
    this.current = { name: opts.name, state: 'stopped', restarts: 0, since: this.now() };
  }

  /** Current state. */
  get state(): SourceState {
    return this.current;
  }

  /** Start the loop (idempotent while running; starts afresh after stop()). */
  start(): void {
    if (this.loop) return;
    this.controller = new AbortController();
    this.loop = this.runLoop(this.controller.signal);
  }

  /** Stop and wait for the current attempt to end. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
    this.loop = undefined;
    this.set({ state: 'stopped' });
  }

  private set(patch: Partial<SourceState>): void {
    this.current = { ...this.current, ...patch, since: this.now() };
    this.opts.onState(this.current);
  }

  private async runLoop(signal: AbortSignal): Promise<void> {
    const min = this.opts.minBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30_000;
    let backoff = min;
    let first = true;
    while (!signal.aborted) {
      if (!first) {
        this.current = { ...this.current, restarts: this.current.restarts + 1 };
        this.opts.onRestart?.(this.current.restarts, this.current.lastError);
      }
      first = false;
      this.set({ state: 'starting' });
      const started = this.now();
      let settled = false;
      const ready = () => {
        if (!settled && this.current.state !== 'running')
          this.set({ state: 'running', lastError: undefined });
      };
      const timer = setTimeout(ready, this.opts.readyAfterMs ?? 1000);
      try {
        await this.opts.run(signal, ready);
        if (signal.aborted) return;
        this.set({ state: 'failed', lastError: 'exited unexpectedly' });
      } catch (err) {
        if (signal.aborted) return;
        this.set({ state: 'failed', lastError: err instanceof Error ? err.message : String(err) });
      } finally {
        settled = true;
        clearTimeout(timer);
      }
      if (this.now() - started > 30_000) backoff = min;
      await sleep(backoff, signal);
      backoff = Math.min(max, backoff * 2);
    }
  }
}

/** Turns a one-shot task into a source that repeats every `intervalMs()` (read each time, so it can adapt). */
export function periodic(task: (signal: AbortSignal) => Promise<void>, intervalMs: () => number): SourceRun {
  return async (signal, ready) => {
    while (!signal.aborted) {
      await task(signal);
      ready();
      await sleep(intervalMs(), signal);
    }
  };
}

/** Resolves after ms, or early when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
