import type { ServerMessage } from '@ctscope/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionInfo } from '../src/domain/dashboard-state.js';
import { backoffDelay, ConnectionManager, type SocketLike } from '../src/transport/connection-manager.js';

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closed?: { code?: number; reason?: string };
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  message(m: ServerMessage) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
  serverClose(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

describe('connection manager', () => {
  let statuses: ConnectionInfo[];
  let messages: ServerMessage[];
  let seq: number | undefined;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    statuses = [];
    messages = [];
    seq = undefined;
  });
  afterEach(() => vi.useRealTimers());

  const make = () =>
    new ConnectionManager({
      url: (resume) => `ws://x/ws${resume !== undefined ? `?resume=${resume}` : ''}`,
      onMessage: (m) => messages.push(m),
      onStatus: (s) => statuses.push(s),
      resumeSeq: () => seq,
      createSocket: (url) => new FakeSocket(url),
      random: () => 0.5,
      pingIntervalMs: 1000,
      staleAfterMs: 3000,
    });

  it('grows the backoff exponentially up to the cap, with jitter around it', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, undefined, () => 0.5))).toEqual([
      500, 1000, 2000, 4000, 8000, 15000, 15000,
    ]);
    expect(backoffDelay(1, undefined, () => 0)).toBe(400);
    expect(backoffDelay(1, undefined, () => 1)).toBe(600);
  });

  it('connects, delivers messages, reconnects with backoff and resumes from the held seq', () => {
    const m = make();
    m.start();
    expect(statuses.at(-1)?.status).toBe('connecting');
    const s1 = FakeSocket.all[0]!;
    expect(s1.url).toBe('ws://x/ws');
    s1.open();
    expect(statuses.at(-1)?.status).toBe('open');
    s1.message({ type: 'pong', now: 1 });
    expect(messages).toHaveLength(1);
    seq = 41;

    s1.serverClose();
    expect(statuses.at(-1)).toMatchObject({ status: 'reconnecting', attempt: 1 });
    vi.advanceTimersByTime(499);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const s2 = FakeSocket.all[1]!;
    expect(s2.url).toBe('ws://x/ws?resume=41');
    // Refused again: the next wait doubles.
    s2.serverClose();
    expect(statuses.at(-1)).toMatchObject({ status: 'reconnecting', attempt: 2 });
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    const s3 = FakeSocket.all[2]!;
    s3.open();
    s3.message({ type: 'pong', now: 2 });
    // A working stream resets the backoff.
    s3.serverClose();
    expect(statuses.at(-1)).toMatchObject({ status: 'reconnecting', attempt: 1 });
    m.stop();
  });

  it('pings while open and replaces a socket that went silent', () => {
    const m = make();
    m.start();
    const s1 = FakeSocket.all[0]!;
    s1.open();
    vi.advanceTimersByTime(1000);
    expect(s1.sent).toEqual([JSON.stringify({ type: 'ping' })]);
    vi.advanceTimersByTime(3000);
    expect(s1.closed?.code).toBe(4000);
    expect(statuses.at(-1)?.status).toBe('reconnecting');
    vi.advanceTimersByTime(500);
    expect(FakeSocket.all).toHaveLength(2);
    m.stop();
  });

  it('stops for good: no retry after stop, and send fails while closed', () => {
    const m = make();
    m.start();
    const s1 = FakeSocket.all[0]!;
    expect(m.send({ type: 'ping' })).toBe(false);
    s1.open();
    expect(m.send({ type: 'subscribe', filter: { port: 53 } })).toBe(true);
    m.stop();
    expect(s1.closed?.code).toBe(1000);
    expect(statuses.at(-1)?.status).toBe('closed');
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});
