/**
 * Fans engine batches out to WebSocket clients: per-client filters, bounded buffering (a slow client gets a
 * fresh sync instead of an unbounded queue), and resume from a sequence number. Never waits on a client.
 */

import { randomUUID } from 'node:crypto';
import {
  type ClientMessage,
  deltaMessage,
  type FlowFilter,
  type HelloMessage,
  helloMessage,
  parseFlowFilter,
  type ServerMessage,
  type SyncMessage,
  syncMessage,
} from '@ctscope/shared';
import type { WebSocket } from 'ws';
import type { Engine, EngineBatch } from '../engine/engine.js';

export interface HubOptions {
  /** Send interval, ms (about 10 per second). */
  intervalMs: number;
  /** A client whose socket holds more than this many unsent bytes is dropped to a resync. */
  maxBufferedBytes: number;
  /** Flows in one sync message. */
  syncFlowLimit: number;
  /** Batches kept for resuming clients. */
  resumeBatches: number;
}

/** Upper bound on flow upserts kept for resuming clients (about 20 MB of reports). */
const MAX_HISTORY_UPSERTS = 50_000;

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  intervalMs: 100,
  maxBufferedBytes: 8 * 1024 * 1024,
  syncFlowLimit: 20_000,
  resumeBatches: 600,
};

interface Client {
  ws: WebSocket;
  filter?: FlowFilter;
  needsSync: boolean;
  /** Last seq this client was sent. */
  seq: number;
}

/** Counters for /api/stats. */
export interface HubStats {
  clients: number;
  seq: number;
  resyncs: number;
  sent: number;
  /** Errors caught while handling messages or batches (the server keeps running). */
  errors: number;
  lastError?: string;
}

export class WsHub {
  /** Identifies this server run, so a reconnecting client never resumes into another run's sequence. */
  readonly instance = randomUUID();
  private readonly clients = new Set<Client>();
  private readonly history: Array<{ seq: number; batch: EngineBatch }> = [];
  /** Flow upserts held in `history`; bounded too, since one batch can carry thousands. */
  private historyUpserts = 0;
  private errors = 0;
  private lastError: string | undefined;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private resyncs = 0;
  private sent = 0;
  readonly options: HubOptions;

  constructor(
    private readonly engine: Engine,
    options: Partial<HubOptions> = {},
  ) {
    this.options = { ...DEFAULT_HUB_OPTIONS, ...options };
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // terminate, not close: a peer that stopped reading would hold a graceful close open.
    for (const c of this.clients) c.ws.terminate();
  }

  stats(): HubStats {
    return {
      clients: this.clients.size,
      seq: this.seq,
      resyncs: this.resyncs,
      sent: this.sent,
      errors: this.errors,
      lastError: this.lastError,
    };
  }

  /** Adopt a socket: handlers first (no await before them), then hello and a sync or the missed deltas. */
  attach(ws: WebSocket, opts: { filter?: FlowFilter; resumeFrom?: number; instance?: string }): void {
    const client: Client = { ws, filter: opts.filter, needsSync: true, seq: 0 };
    ws.on('message', (data) => this.onMessage(client, String(data)));
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => this.clients.delete(client));
    this.clients.add(client);
    this.send(client, this.hello());
    if (opts.resumeFrom !== undefined && opts.instance === this.instance && this.canResume(opts.resumeFrom)) {
      for (const h of this.history)
        if (h.seq > opts.resumeFrom) this.send(client, deltaMessage(h.seq, h.batch, client.filter));
      client.seq = this.seq;
      client.needsSync = false;
    } else {
      this.sendSync(client);
    }
  }

  private canResume(from: number): boolean {
    if (from > this.seq) return false;
    if (from === this.seq) return true;
    const oldest = this.history[0];
    return oldest !== undefined && oldest.seq <= from + 1;
  }

  private onMessage(client: Client, text: string): void {
    try {
      this.handleMessage(client, text);
    } catch (err) {
      // A client must never be able to take the server down.
      this.noteError(err);
      this.send(client, { type: 'error', message: 'internal error handling that message' });
    }
  }

  private noteError(err: unknown): void {
    this.errors++;
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  private handleMessage(client: Client, text: string): void {
    let msg: ClientMessage;
    try {
      msg = JSON.parse(text) as ClientMessage;
    } catch {
      this.send(client, { type: 'error', message: 'message is not JSON' });
      return;
    }
    switch (msg?.type) {
      case 'subscribe': {
        const filter = parseFlowFilter(msg.filter);
        if ('error' in filter) {
          this.send(client, { type: 'error', message: filter.error });
          return;
        }
        client.filter = filter;
        this.sendSync(client);
        return;
      }
      case 'ping':
        this.send(client, { type: 'pong', now: this.engine.core.store.now || Date.now() });
        return;
      default:
        this.send(client, {
          type: 'error',
          message: `unknown message type ${JSON.stringify((msg as { type?: unknown })?.type)}`,
        });
    }
  }

  private hello(): HelloMessage {
    return helloMessage({
      mode: this.engine.mode,
      instance: this.instance,
      node: this.engine.node,
      allowDelete: this.engine.allowDelete,
      autoRemedy: this.engine.autoRemedy,
      intervals: this.engine.intervals,
      sources: this.engine.sources(),
    });
  }

  /** Full state for one filter. */
  syncMessage(filter: FlowFilter | undefined): SyncMessage {
    return syncMessage(this.engine.core, {
      seq: this.seq,
      filter,
      flowLimit: this.options.syncFlowLimit,
      sources: this.engine.sources(),
    });
  }

  private sendSync(client: Client): void {
    if (client.ws.bufferedAmount > this.options.maxBufferedBytes) {
      client.needsSync = true;
      return;
    }
    this.send(client, this.syncMessage(client.filter));
    client.seq = this.seq;
    client.needsSync = false;
  }

  /** Full syncs owed to clients (after a reset or falling behind) go out at most once a second. */
  private nextSyncAt = 0;

  private sendPendingSyncs(): void {
    const now = Date.now();
    if (now < this.nextSyncAt) return;
    const cache = new Map<string, SyncMessage>();
    for (const c of this.clients) {
      if (!c.needsSync || c.ws.bufferedAmount > this.options.maxBufferedBytes) continue;
      const key = JSON.stringify(c.filter ?? {});
      let msg = cache.get(key);
      if (!msg) {
        msg = this.syncMessage(c.filter);
        cache.set(key, msg);
      }
      this.send(c, msg);
      c.seq = this.seq;
      c.needsSync = false;
    }
    if (cache.size > 0) this.nextSyncAt = now + 1000;
  }

  /** One round: collect a batch from the engine and deliver it. Public for tests. Never throws. */
  tick(): void {
    try {
      this.deliver(this.engine.flush());
    } catch (err) {
      this.noteError(err);
    }
  }

  private deliver(batch: EngineBatch): void {
    let fresh = false;
    if (batch.reset) {
      // History no longer describes the state: nobody can resume across this point.
      this.seq++;
      this.history.length = 0;
      this.historyUpserts = 0;
      for (const c of this.clients) c.needsSync = true;
    } else if (!isEmpty(batch)) {
      fresh = true;
      this.seq++;
      this.history.push({ seq: this.seq, batch });
      this.historyUpserts += batch.upserts.length;
      while (
        this.history.length > this.options.resumeBatches ||
        (this.history.length > 1 && this.historyUpserts > MAX_HISTORY_UPSERTS)
      ) {
        this.historyUpserts -= this.history.shift()!.batch.upserts.length;
      }
    }
    this.sendPendingSyncs();
    if (!fresh) return;
    for (const c of this.clients) {
      if (c.needsSync || c.seq >= this.seq) continue;
      if (c.ws.bufferedAmount > this.options.maxBufferedBytes) {
        // Too far behind: drop what it would have queued and resync once it drains.
        c.needsSync = true;
        this.resyncs++;
        continue;
      }
      this.send(c, deltaMessage(this.seq, batch, c.filter));
      c.seq = this.seq;
    }
  }

  private send(client: Client, msg: ServerMessage): void {
    if (client.ws.readyState !== 1) return;
    client.ws.send(JSON.stringify(msg));
    this.sent++;
  }
}

function isEmpty(b: EngineBatch): boolean {
  return (
    b.upserts.length === 0 &&
    b.removals.length === 0 &&
    b.rates.length === 0 &&
    b.markers.length === 0 &&
    b.nat.length === 0 &&
    b.natView === undefined &&
    b.counters === undefined &&
    b.alerts.length === 0 &&
    b.sources.length === 0 &&
    b.eventLoss === undefined
  );
}
