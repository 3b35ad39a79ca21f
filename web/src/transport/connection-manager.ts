/**
 * The WebSocket connection with no React in it (headlamp webSocket.ts style): connects, reconnects with
 * jittered exponential backoff, resumes from the last seq it is told, pings, and closes a socket that went
 * silent. Timers only, never requestAnimationFrame, so a wall display keeps updating when it loses focus.
 */
import type { ClientMessage, ServerMessage } from '@ctscope/shared';
import type { ConnectionInfo } from '../domain/dashboard-state.js';

/** The subset of the browser WebSocket this class uses (tests pass a fake). */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Reconnect delay curve. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** ± fraction of randomness so many clients do not reconnect in step. */
  jitter: number;
}

/** 0.5 s doubling to 15 s, ±20%. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.2 };

/** Delay before attempt `attempt` (1-based). */
export function backoffDelay(
  attempt: number,
  o: BackoffOptions = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const base = Math.min(o.maxMs, o.initialMs * o.factor ** Math.max(0, attempt - 1));
  return Math.round(base * (1 + o.jitter * (2 * random() - 1)));
}

/** Address, callbacks and tunables. */
export interface ConnectionManagerOptions {
  /** Address to open; `resumeFrom` is the last seq held, when there is one. */
  url: (resumeFrom: number | undefined) => string;
  onMessage: (msg: ServerMessage) => void;
  onStatus: (info: ConnectionInfo) => void;
  /** The seq to resume from on reconnect (the reducer's, so a rejected delta is not skipped). */
  resumeSeq: () => number | undefined;
  backoff?: BackoffOptions;
  pingIntervalMs?: number;
  /** No message for this long: the socket is presumed dead and replaced. */
  staleAfterMs?: number;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
}

const OPEN = 1;

/** One logical connection that survives socket failures. */
export class ConnectionManager {
  private socket: SocketLike | undefined;
  private attempt = 0;
  private stopped = true;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastMessageAt = 0;
  private readonly o: Required<Omit<ConnectionManagerOptions, 'createSocket'>> &
    Pick<ConnectionManagerOptions, 'createSocket'>;

  constructor(options: ConnectionManagerOptions) {
    this.o = {
      backoff: DEFAULT_BACKOFF,
      pingIntervalMs: 15_000,
      staleAfterMs: 45_000,
      random: Math.random,
      ...options,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.retryTimer = undefined;
    this.pingTimer = undefined;
    const s = this.socket;
    this.socket = undefined;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.onerror = null;
      s.close(1000, 'client stopping');
    }
    this.o.onStatus({ status: 'closed', attempt: 0, reason: 'stopped' });
  }

  /** Send if open; returns whether it was sent. */
  send(msg: ClientMessage): boolean {
    if (this.socket?.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  /** Close the current socket as if the network dropped it (reconnects with backoff). */
  drop(reason = 'dropped'): void {
    const s = this.socket;
    if (!s) return;
    // Detach first: a dead peer may never complete the closing handshake, so do not wait for onclose.
    this.socket = undefined;
    s.onclose = null;
    s.onmessage = null;
    s.onerror = null;
    s.close(4000, reason);
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    if (!this.stopped) this.scheduleRetry(reason);
  }

  private open(): void {
    const resume = this.o.resumeSeq();
    const url = this.o.url(resume);
    this.o.onStatus({ status: this.attempt === 0 ? 'connecting' : 'reconnecting', attempt: this.attempt });
    let s: SocketLike;
    try {
      s = this.o.createSocket ? this.o.createSocket(url) : (new WebSocket(url) as unknown as SocketLike);
    } catch (err) {
      this.scheduleRetry(err instanceof Error ? err.message : String(err));
      return;
    }
    this.socket = s;
    s.onopen = () => {
      this.lastMessageAt = Date.now();
      this.o.onStatus({ status: 'open', attempt: 0 });
      this.startPing();
    };
    s.onmessage = (ev) => {
      this.lastMessageAt = Date.now();
      // A working stream proves the server is back: the next drop starts the backoff afresh.
      this.attempt = 0;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        return;
      }
      this.o.onMessage(msg);
    };
    s.onerror = () => {
      // The close event follows and does the bookkeeping.
    };
    s.onclose = (ev) => {
      if (this.socket !== s) return;
      this.socket = undefined;
      clearInterval(this.pingTimer);
      this.pingTimer = undefined;
      if (!this.stopped) this.scheduleRetry(ev.reason || `closed (${ev.code})`);
    };
  }

  private scheduleRetry(reason: string): void {
    this.attempt++;
    const delay = backoffDelay(this.attempt, this.o.backoff, this.o.random);
    this.o.onStatus({ status: 'reconnecting', attempt: this.attempt, retryAt: Date.now() + delay, reason });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.open();
    }, delay);
  }

  private startPing(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastMessageAt > this.o.staleAfterMs) {
        this.drop('no messages from the server');
        return;
      }
      this.send({ type: 'ping' });
    }, this.o.pingIntervalMs);
  }
}
