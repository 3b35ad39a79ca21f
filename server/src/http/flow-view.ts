/**
 * One windowed view of the flow table, shared by every client with the same filter: the worst rows, kept up to
 * date from engine batches, with its deltas and sync serialized once and the same bytes sent to each client.
 */
import {
  compareReports,
  type DeltaMessage,
  type FlowCounts,
  type FlowFilter,
  type FlowReport,
  matchesFilter,
  type SyncMessage,
} from '@ctscope/shared';
import type { EngineBatch } from '../engine/engine.js';

/** What a view needs to build a sync around its own rows. */
export interface SyncContext {
  seq: number;
  build: (window: { flows: FlowReport[]; total: number }) => SyncMessage;
}

/** The store operations a view uses. */
export interface ViewStore {
  select(
    filter: FlowFilter | undefined,
    limit: number,
    offset?: number,
  ): { flows: FlowReport[]; total: number };
  countMatching(filter: FlowFilter | undefined): number;
}

export class FlowView {
  /** Window rows by id. */
  private readonly window = new Map<string, FlowReport>();
  /** The worst row held when the window is full: a new row enters only if it ranks above it. */
  private cutoff: FlowReport | undefined;
  private total = 0;
  private totalAt = 0;
  private refillAt = 0;
  private syncCache: { seq: number; bytes: Buffer } | undefined;
  /** Serialized deltas for resuming clients, oldest first. */
  private readonly history: Array<{ seq: number; bytes: Buffer }> = [];
  private historyBytes = 0;
  /** Clients on this view; an empty view lingers so a reconnecting client can still resume. */
  clients = 0;
  idleSince = 0;

  constructor(
    readonly key: string,
    readonly filter: FlowFilter | undefined,
    /** The engine's current store: read at each use, since a replay seek replaces the engine's core. */
    private readonly storeOf: () => ViewStore,
    private readonly rows: number,
    private readonly resume: { batches: number; bytes: number },
  ) {
    this.reload(Date.now());
  }

  /** Re-select the window from the store (new view, or after a reset); forgets the resume history. */
  reload(now: number): void {
    const { flows, total } = this.storeOf().select(this.filter, this.rows);
    this.window.clear();
    for (const f of flows) this.window.set(f.id, f);
    this.total = total;
    this.totalAt = now;
    this.updateCutoff();
    this.history.length = 0;
    this.historyBytes = 0;
    this.syncCache = undefined;
  }

  private updateCutoff(): void {
    if (this.window.size < this.rows) {
      this.cutoff = undefined;
      return;
    }
    let worst: FlowReport | undefined;
    for (const f of this.window.values()) if (!worst || compareReports(f, worst) > 0) worst = f;
    this.cutoff = worst;
  }

  /** Fold one batch into the window and serialize the view's delta for `seq`. */
  applyBatch(
    batch: EngineBatch,
    seq: number,
    now: number,
    counts: FlowCounts | undefined,
    refreshTotal: boolean,
  ): Buffer {
    const upserts = new Map<string, FlowReport>();
    const removals = new Set<string>();
    for (const id of batch.removals) {
      if (this.window.delete(id)) removals.add(id);
    }
    for (const f of batch.upserts) {
      const matches = matchesFilter(f, this.filter);
      if (this.window.has(f.id)) {
        if (matches) {
          this.window.set(f.id, f);
          upserts.set(f.id, f);
        } else {
          this.window.delete(f.id);
          removals.add(f.id);
        }
      } else if (matches && (this.cutoff === undefined || compareReports(f, this.cutoff) < 0)) {
        this.window.set(f.id, f);
        upserts.set(f.id, f);
        removals.delete(f.id);
      }
    }
    // Keep the window near its size: worse rows pushed out by better ones leave it.
    if (this.window.size > this.rows * 1.25) {
      const ranked = [...this.window.values()].sort(compareReports);
      for (const f of ranked.slice(this.rows)) {
        this.window.delete(f.id);
        if (upserts.delete(f.id)) continue;
        removals.add(f.id);
      }
    }
    let total: number | undefined;
    if (refreshTotal || this.filter === undefined) {
      const t =
        this.filter === undefined && counts ? counts.flows : this.storeOf().countMatching(this.filter);
      if (t !== this.total) total = t;
      this.total = t;
      this.totalAt = now;
    }
    // Rows left (gone flows expire): refill from the store, at most once a second.
    if (this.window.size < this.rows * 0.8 && this.total > this.window.size && now - this.refillAt >= 1000) {
      this.refillAt = now;
      const { flows } = this.storeOf().select(this.filter, this.rows);
      for (const f of flows) {
        if (!this.window.has(f.id)) {
          this.window.set(f.id, f);
          upserts.set(f.id, f);
          removals.delete(f.id);
        }
      }
    }
    if (upserts.size > 0 || removals.size > 0) this.updateCutoff();
    const delta: DeltaMessage = {
      type: 'delta',
      seq,
      now: batch.now,
      upserts: [...upserts.values()],
      removals: [...removals],
      rates: batch.rates,
      markers: batch.markers,
      nat: batch.nat,
      natView: batch.natView,
      counters: batch.counters,
      alerts: batch.alerts,
      sources: batch.sources,
      eventLoss: batch.eventLoss,
      total,
      counts,
    };
    const bytes = Buffer.from(JSON.stringify(delta));
    this.history.push({ seq, bytes });
    this.historyBytes += bytes.length;
    while (
      this.history.length > 1 &&
      (this.history.length > this.resume.batches || this.historyBytes > this.resume.bytes)
    ) {
      this.historyBytes -= this.history.shift()!.bytes.length;
    }
    return bytes;
  }

  /** Whether filtered totals are due (they cost a pass over the table). */
  totalDue(now: number, everyMs: number): boolean {
    return this.filter !== undefined && now - this.totalAt >= everyMs;
  }

  /** The deltas after `from` if this view still holds all of them (`current` is the hub's seq). */
  deltasSince(from: number, current: number): Buffer[] | undefined {
    if (from > current) return undefined;
    if (from === current) return [];
    const first = this.history[0];
    if (!first || first.seq > from + 1) return undefined;
    return this.history.filter((h) => h.seq > from).map((h) => h.bytes);
  }

  /** The serialized sync for this view at `ctx.seq`, built once and shared. */
  syncBytes(ctx: SyncContext): Buffer {
    if (this.syncCache?.seq === ctx.seq) return this.syncCache.bytes;
    const flows = [...this.window.values()].sort(compareReports);
    const bytes = Buffer.from(JSON.stringify(ctx.build({ flows, total: this.total })));
    this.syncCache = { seq: ctx.seq, bytes };
    return bytes;
  }
}
