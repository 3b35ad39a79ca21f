/**
 * Fans engine batches out to WebSocket clients. Clients with the same filter share one {@link FlowView}, whose
 * deltas and syncs are serialized once; syncs and `range` answers are paced under a global byte budget;
 * connections are capped in total and per address; every byte queued for a client counts against its budget;
 * heartbeats drop dead peers. Never waits on a client.
 */

import { randomUUID } from 'node:crypto';
import {
  type ClientMessage,
  type FlowCounts,
  type FlowFilter,
  flowCounts,
  type HelloMessage,
  helloMessage,
  isEmptyFilter,
  parseFlowFilter,
  type RowsMessage,
  type ServerMessage,
  syncMessage,
} from '@ctscope/shared';
import type { WebSocket } from 'ws';
import { WS_LIMITS } from '../config.js';
import type { Engine, EngineBatch } from '../engine/engine.js';
import { FlowView, type SyncContext } from './flow-view.js';

export interface HubOptions {
  /** Send interval, ms (about 10 per second). */
  intervalMs: number;
  maxClients: number;
  maxClientsPerAddress: number;
  /** Bytes queued for one client before deltas are skipped (it resyncs later) or, for replies, it is cut off. */
  clientBudgetBytes: number;
  /** Rows a sync sends. */
  windowRows: number;
  maxRangeRows: number;
  /** Sync and range bytes per second across all clients. */
  syncBytesPerSecond: number;
  heartbeatMs: number;
  maxMessagesPerSecond: number;
  /** Deltas kept per view for resuming clients, by count and bytes. */
  resumeBatches: number;
  resumeBytes: number;
  /** How long a view with no clients is kept (so a reconnecting client can resume). */
  viewIdleMs: number;
  /** Filtered totals are recounted at most this often (a pass over the table). */
  totalEveryMs: number;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  intervalMs: 100,
  maxClients: WS_LIMITS.maxClients,
  maxClientsPerAddress: WS_LIMITS.maxClientsPerAddress,
  clientBudgetBytes: WS_LIMITS.clientBudgetBytes,
  windowRows: WS_LIMITS.windowRows,
  maxRangeRows: WS_LIMITS.maxRangeRows,
  syncBytesPerSecond: WS_LIMITS.syncBytesPerSecond,
  heartbeatMs: WS_LIMITS.heartbeatMs,
  maxMessagesPerSecond: WS_LIMITS.maxMessagesPerSecond,
  resumeBatches: 600,
  resumeBytes: 16 * 1024 * 1024,
  viewIdleMs: 60_000,
  totalEveryMs: 2000,
};

/** Close codes: 1013 try again later (caps), 1008 policy (budget, flood), 1001 going away (no heartbeat). */
const CLOSE_BUSY = 1013;
const CLOSE_POLICY = 1008;

interface Client {
  ws: WebSocket;
  address: string;
  view: FlowView;
  needsSync: boolean;
  /** In the paced queue. */
  queued: boolean;
  /** Last seq this client was sent. */
  seq: number;
  alive: boolean;
  /** Message-rate bucket. */
  tokens: number;
  tokensAt: number;
  /** A `range` waiting for the paced queue (a newer one replaces it). */
  range?: { id: number; offset: number; limit: number };
  /** Fell behind (its backlog held a sync or a delta back) since its last sync. */
  behind: boolean;
  closed: boolean;
}

/** Counters for /api/stats. */
export interface HubStats {
  clients: number;
  views: number;
  seq: number;
  resyncs: number;
  sent: number;
  bytesSent: number;
  /** Connections refused by the caps. */
  refused: number;
  /** Clients cut off past their budget or for flooding. */
  cutOff: number;
  /** Clients dropped for missing a heartbeat. */
  dead: number;
  /** Largest number of bytes seen queued for one client. */
  maxQueuedBytes: number;
  /** Clients waiting for a paced sync or range. */
  pacedQueue: number;
  /** Errors caught while handling messages or batches (the server keeps running). */
  errors: number;
  lastError?: string;
}

export class WsHub {
  /** Identifies this server run, so a reconnecting client never resumes into another run's sequence. */
  readonly instance = randomUUID();
  readonly options: HubOptions;
  private readonly clients = new Set<Client>();
  private readonly perAddress = new Map<string, number>();
  private readonly views = new Map<string, FlowView>();
  private readonly queue: Client[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private counts: FlowCounts | undefined;
  private countsKey = '';
  private countsAt = 0;
  private budget: number;
  private budgetAt = Date.now();
  private readonly st = {
    resyncs: 0,
    sent: 0,
    bytesSent: 0,
    refused: 0,
    cutOff: 0,
    dead: 0,
    maxQueuedBytes: 0,
    errors: 0,
    lastError: undefined as string | undefined,
  };

  constructor(
    private readonly engine: Engine,
    options: Partial<HubOptions> = {},
  ) {
    this.options = { ...DEFAULT_HUB_OPTIONS, ...options };
    this.budget = this.options.syncBytesPerSecond;
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    this.heartbeat ??= setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
    // terminate, not close: a peer that stopped reading would hold a graceful close open.
    for (const c of this.clients) c.ws.terminate();
  }

  stats(): HubStats {
    return {
      clients: this.clients.size,
      views: this.views.size,
      seq: this.seq,
      pacedQueue: this.queue.length,
      ...this.st,
    };
  }

  /** Adopt a socket: handlers first (no await before them), then hello and a sync or the missed deltas. */
  attach(
    ws: WebSocket,
    opts: { address?: string; filter?: FlowFilter; resumeFrom?: number; instance?: string },
  ): void {
    const address = opts.address ?? 'unknown';
    if (this.clients.size >= this.options.maxClients) {
      this.refuse(ws, `server busy: ${this.options.maxClients} connections already; try again later`);
      return;
    }
    if ((this.perAddress.get(address) ?? 0) >= this.options.maxClientsPerAddress) {
      this.refuse(ws, `too many connections from ${address} (${this.options.maxClientsPerAddress} at most)`);
      return;
    }
    const client: Client = {
      ws,
      address,
      view: this.viewFor(opts.filter),
      needsSync: true,
      queued: false,
      seq: 0,
      alive: true,
      tokens: this.options.maxMessagesPerSecond,
      tokensAt: Date.now(),
      behind: false,
      closed: false,
    };
    ws.on('error', () => this.detach(client));
    client.view.clients++;
    this.clients.add(client);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    ws.on('message', (data, isBinary) => this.onMessage(client, data as Buffer, isBinary));
    ws.on('close', () => this.detach(client));
    ws.on('pong', () => {
      client.alive = true;
    });
    this.sendObject(client, this.hello());
    const missed =
      opts.resumeFrom !== undefined && opts.instance === this.instance
        ? client.view.deltasSince(opts.resumeFrom, this.seq)
        : undefined;
    if (missed && missed.reduce((n, b) => n + b.length, 0) <= this.options.clientBudgetBytes) {
      for (const b of missed) this.sendBytes(client, b);
      client.seq = this.seq;
      client.needsSync = false;
    } else {
      this.enqueue(client);
      this.drain();
    }
  }

  private refuse(ws: WebSocket, reason: string): void {
    this.st.refused++;
    ws.on('error', () => undefined);
    ws.close(CLOSE_BUSY, reason);
    setTimeout(() => ws.terminate(), 2000).unref();
  }

  private detach(client: Client): void {
    if (client.closed) return;
    client.closed = true;
    this.clients.delete(client);
    const n = (this.perAddress.get(client.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(client.address);
    else this.perAddress.set(client.address, n);
    this.leaveView(client.view);
  }

  /** Stop serving a client and close it; a peer that does not read cannot complete the close, so it is terminated. */
  private cutOff(client: Client, reason: string): void {
    if (client.closed) return;
    this.st.cutOff++;
    this.detach(client);
    client.ws.close(CLOSE_POLICY, reason);
    setTimeout(() => client.ws.terminate(), 1000).unref();
  }

  private viewFor(filter: FlowFilter | undefined): FlowView {
    const f = isEmptyFilter(filter) ? undefined : filter;
    const key = f ? filterKey(f) : '';
    let v = this.views.get(key);
    if (!v) {
      v = new FlowView(key, f, () => this.engine.core.store, this.options.windowRows, {
        batches: this.options.resumeBatches,
        bytes: this.options.resumeBytes,
      });
      this.views.set(key, v);
    }
    return v;
  }

  private leaveView(v: FlowView): void {
    v.clients--;
    if (v.clients <= 0) v.idleSince = Date.now();
  }

  private onMessage(client: Client, data: Buffer, isBinary: boolean): void {
    if (client.closed) return;
    client.alive = true;
    const now = Date.now();
    const rate = this.options.maxMessagesPerSecond;
    client.tokens = Math.min(rate, client.tokens + ((now - client.tokensAt) / 1000) * rate);
    client.tokensAt = now;
    if (client.tokens < 1) {
      this.cutOff(client, `more than ${rate} messages a second`);
      return;
    }
    client.tokens--;
    try {
      // Anything but a JSON object is refused without decoding it (junk costs no string or parse).
      this.handleMessage(client, isBinary || data[0] !== 0x7b ? undefined : data.toString('utf8'));
    } catch (err) {
      // A client must never be able to take the server down.
      this.noteError(err);
      this.reply(client, { type: 'error', message: 'internal error handling that message' });
    }
  }

  private noteError(err: unknown): void {
    this.st.errors++;
    this.st.lastError = err instanceof Error ? err.message : String(err);
  }

  private handleMessage(client: Client, text: string | undefined): void {
    let msg: ClientMessage;
    try {
      if (text === undefined) throw new Error('binary');
      msg = JSON.parse(text) as ClientMessage;
    } catch {
      this.reply(client, { type: 'error', message: 'message is not a JSON text message' });
      return;
    }
    switch (msg?.type) {
      case 'subscribe': {
        const filter = parseFlowFilter(msg.filter);
        if ('error' in filter) {
          this.reply(client, { type: 'error', message: filter.error });
          return;
        }
        const view = this.viewFor(filter);
        if (view !== client.view) {
          view.clients++;
          this.leaveView(client.view);
          client.view = view;
        }
        client.range = undefined;
        this.enqueue(client);
        this.drain();
        return;
      }
      case 'range': {
        const { id, offset, limit } = msg;
        if (
          !Number.isInteger(id) ||
          !Number.isInteger(offset) ||
          !Number.isInteger(limit) ||
          offset < 0 ||
          offset > 10_000_000 ||
          limit < 1 ||
          limit > this.options.maxRangeRows
        ) {
          this.reply(client, {
            type: 'error',
            message: `range needs integer id, offset >= 0 and limit 1-${this.options.maxRangeRows}`,
          });
          return;
        }
        client.range = { id, offset, limit };
        this.enqueue(client);
        this.drain();
        return;
      }
      case 'ping':
        this.reply(client, { type: 'pong', now: this.engine.core.store.now || Date.now() });
        return;
      default:
        // Never echo input back: the type is not repeated.
        this.reply(client, {
          type: 'error',
          message: 'unknown message type (expected subscribe, range or ping)',
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
      window: { rows: this.options.windowRows, maxRange: this.options.maxRangeRows },
    });
  }

  private currentCounts(now: number): FlowCounts {
    if (!this.counts || now - this.countsAt >= 1000) {
      this.counts = flowCounts(this.engine.core);
      this.countsAt = now;
    }
    return this.counts;
  }

  private syncContext(): SyncContext {
    const counts = this.currentCounts(Date.now());
    const sources = this.engine.sources();
    return {
      seq: this.seq,
      build: (window) =>
        syncMessage(this.engine.core, {
          seq: this.seq,
          flowLimit: this.options.windowRows,
          sources,
          window,
          counts,
        }),
    };
  }

  private enqueue(client: Client): void {
    if (client.range === undefined) client.needsSync = true;
    if (!client.queued) {
      client.queued = true;
      this.queue.push(client);
    }
  }

  /**
   * Serve the paced queue (syncs first-come first-served, then ranges) while the global budget lasts. A client
   * whose socket still holds half its budget waits its turn again later.
   */
  private drain(): void {
    const now = Date.now();
    const perSec = this.options.syncBytesPerSecond;
    this.budget = Math.min(perSec, this.budget + ((now - this.budgetAt) / 1000) * perSec);
    this.budgetAt = now;
    if (this.queue.length === 0) return;
    let ctx: SyncContext | undefined;
    const waiting: Client[] = [];
    while (this.queue.length > 0 && this.budget > 0) {
      const c = this.queue.shift()!;
      c.queued = false;
      if (c.closed) continue;
      if (c.ws.bufferedAmount > this.options.clientBudgetBytes / 2) {
        this.fellBehind(c);
        waiting.push(c);
        continue;
      }
      if (c.needsSync) {
        ctx ??= this.syncContext();
        const bytes = c.view.syncBytes(ctx);
        this.budget -= bytes.length;
        if (!this.sendBytes(c, bytes)) continue;
        c.seq = this.seq;
        c.needsSync = false;
        c.behind = false;
      }
      if (c.range && !c.closed) {
        const r = c.range;
        c.range = undefined;
        const { flows, total } = this.engine.core.store.select(c.view.filter, r.limit, r.offset);
        const rows: RowsMessage = { type: 'rows', id: r.id, seq: this.seq, offset: r.offset, total, flows };
        const bytes = Buffer.from(JSON.stringify(rows));
        this.budget -= bytes.length;
        if (!this.fits(c, bytes.length)) {
          this.reply(c, {
            type: 'error',
            id: r.id,
            message: 'range refused: too much is still queued for you',
          });
        } else this.sendBytes(c, bytes);
      }
    }
    for (const c of waiting) {
      c.queued = true;
      this.queue.push(c);
    }
  }

  private fellBehind(c: Client): void {
    if (c.behind) return;
    c.behind = true;
    this.st.resyncs++;
  }

  /** Within budget; one message may always go to an empty queue (a sync can outgrow a small budget). */
  private fits(client: Client, bytes: number): boolean {
    const queued = client.ws.bufferedAmount;
    return queued === 0 || queued + bytes <= this.options.clientBudgetBytes;
  }

  /** Send shared bytes; false (and nothing queued) if the socket is gone or over its budget. */
  private sendBytes(client: Client, bytes: Buffer): boolean {
    if (client.closed || client.ws.readyState !== 1) return false;
    if (!this.fits(client, bytes.length)) return false;
    client.ws.send(bytes, { binary: false });
    this.st.sent++;
    this.st.bytesSent += bytes.length;
    const q = client.ws.bufferedAmount;
    if (q > this.st.maxQueuedBytes) this.st.maxQueuedBytes = q;
    return true;
  }

  private sendObject(client: Client, msg: ServerMessage): boolean {
    return this.sendBytes(client, Buffer.from(JSON.stringify(msg)));
  }

  /** A reply to something the client sent: over its budget, the client is cut off instead of queued further. */
  private reply(client: Client, msg: ServerMessage): void {
    if (!this.sendObject(client, msg) && !client.closed && client.ws.readyState === 1)
      this.cutOff(client, 'too much queued: the client is not reading');
  }

  /** One round: collect a batch from the engine and deliver it. Public for tests. Never throws. */
  tick(): void {
    try {
      // With no client, changed flows are not turned into views: the batch becomes a reset, which only means a
      // client connecting later (or resuming) gets a sync, as it would anyway.
      this.deliver(this.engine.flush(this.clients.size === 0 ? 0 : undefined));
    } catch (err) {
      this.noteError(err);
    }
  }

  private deliver(batch: EngineBatch): void {
    const now = Date.now();
    for (const [key, v] of this.views) {
      if (v.clients <= 0 && now - v.idleSince > this.options.viewIdleMs) this.views.delete(key);
    }
    if (batch.reset) {
      // The state was rebuilt or overflowed: every view re-selects, and every client gets a (shared) sync.
      this.seq++;
      for (const v of this.views.values()) v.reload(now);
      for (const c of this.clients) this.enqueue(c);
      this.drain();
      return;
    }
    let counts: FlowCounts | undefined;
    if (this.clients.size > 0 && now - this.countsAt >= 1000) {
      const next = this.currentCounts(now);
      const key = JSON.stringify(next);
      if (key !== this.countsKey) counts = next;
      this.countsKey = key;
    }
    if (!isEmpty(batch) || counts) {
      this.seq++;
      const bytes = new Map<FlowView, Buffer>();
      for (const v of this.views.values()) {
        const refresh = v.clients > 0 && v.totalDue(now, this.options.totalEveryMs);
        bytes.set(v, v.applyBatch(batch, this.seq, now, counts, refresh));
      }
      for (const c of this.clients) {
        if (c.needsSync || c.seq !== this.seq - 1) continue;
        if (this.sendBytes(c, bytes.get(c.view)!)) c.seq = this.seq;
        else if (!c.closed) {
          // Too far behind: drop what it would have queued and resync once it drains.
          this.fellBehind(c);
          this.enqueue(c);
        }
      }
    }
    this.drain();
  }

  /** Heartbeat: a peer that did not answer the previous ping is dropped; the others are pinged. */
  private beat(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        this.st.dead++;
        this.detach(c);
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        // Closing already.
      }
    }
  }

  /** For tests: run one heartbeat round now. */
  heartbeatNow(): void {
    this.beat();
  }
}

/** A stable key for a filter (field order and list order do not matter). */
function filterKey(f: FlowFilter): string {
  const norm: Record<string, unknown> = {};
  for (const k of Object.keys(f).sort()) {
    const v = (f as Record<string, unknown>)[k];
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    norm[k] = Array.isArray(v) ? [...v].sort() : v;
  }
  return JSON.stringify(norm);
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
