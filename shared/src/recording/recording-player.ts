/** Applies recording records to an {@link EngineCore} up to a time: the one replay path for server and browser. */
import { EngineCore, type EngineCoreState } from '../engine/engine-core.js';
import type { FlowStoreOptions } from '../flows/flow-store.js';
import type { RecordingRecord } from './recording-format.js';

/** Browsers and Node both have it; declared here because shared has no DOM/Node types. */
declare const structuredClone: <T>(value: T) => T;

/** A player's whole state at one point of a recording (JSON-safe): a replay checkpoint. */
export interface PlayerState {
  /** Records applied up to this time. */
  applied: number;
  core: EngineCoreState;
  /** Dumps still open at this point, per scope (their lines are applied as they are read). */
  pending: Array<{ scope: 'full' | 'poll'; startedAt: number }>;
}

/**
 * Plays records (oldest first) into a fresh core. Records come from the array it was built with (seeking
 * backwards rebuilds from the start), or are pushed one at a time with {@link feed} by a streaming reader.
 */
export class RecordingPlayer {
  #core: EngineCore;
  #cursor = 0;
  #applied = Number.NEGATIVE_INFINITY;
  /** Start times of the dumps in progress, per scope: a suspect poll can finish (and be recorded) while a long full dump runs. */
  #pending = new Map<'full' | 'poll', number>();
  /** Set when advanceTo rebuilt the core; the owner clears it once clients got a full sync. */
  reset = false;

  constructor(
    readonly records: readonly RecordingRecord[] = [],
    private readonly storeOptions: Partial<FlowStoreOptions> = {},
  ) {
    this.#core = new EngineCore(storeOptions);
  }

  /** A streaming player continuing from a checkpoint (the state is taken over, not copied). */
  static fromState(state: PlayerState, storeOptions: Partial<FlowStoreOptions> = {}): RecordingPlayer {
    const p = new RecordingPlayer([], storeOptions);
    p.#restore(state);
    return p;
  }

  #restore(state: PlayerState): void {
    this.#core = EngineCore.fromState(state.core, this.storeOptions);
    this.#applied = state.applied;
    this.#pending = new Map(state.pending.map((d) => [d.scope, d.startedAt] as const));
    this.reset = true;
  }

  /** The whole state as plain data, for a checkpoint: it shares objects with the player, so serialize it at once. */
  exportState(): PlayerState {
    return {
      applied: this.#applied,
      core: this.#core.exportState(),
      pending: [...this.#pending].map(([scope, startedAt]) => ({ scope, startedAt })),
    };
  }

  /**
   * Apply one record (streaming use: records in file order) and judge what it changed at its own time.
   * Verdicts depend on when a flow is judged; judging at each record (never at the reader's or a client's pace)
   * makes the state at any instant a function of the records alone, so a checkpoint restored mid-recording
   * continues exactly as a full replay would, and reading the state never changes it.
   */
  feed(r: RecordingRecord): void {
    this.#apply(r);
    this.#core.store.settleNow(r.t);
    if (r.t > this.#applied) this.#applied = r.t;
  }

  /** Mark time t as reached: no records up to it remain unread. */
  reach(t: number): void {
    if (t > this.#applied) this.#applied = t;
  }

  /** The engine state at the applied time (a new object after a rebuild). */
  get core(): EngineCore {
    return this.#core;
  }

  /** Time applied so far (-Infinity before the first call). */
  get applied(): number {
    return this.#applied;
  }

  /** Apply every record up to time t; returns true when it rebuilt from the start (scrubbing backwards). */
  advanceTo(t: number): boolean {
    let rebuilt = false;
    if (t < this.#applied) {
      this.#core = new EngineCore(this.storeOptions);
      this.#cursor = 0;
      this.#pending.clear();
      this.reset = true;
      rebuilt = true;
    }
    const records = this.records;
    while (this.#cursor < records.length && records[this.#cursor]!.t <= t) {
      this.feed(records[this.#cursor]!);
      this.#cursor++;
    }
    this.reach(t);
    this.#applied = t;
    return rebuilt;
  }

  #apply(r: RecordingRecord): void {
    const core = this.#core;
    switch (r.k) {
      case 'line':
        if (r.src === 'events') core.onEventLine(r.line, r.t);
        else {
          // Applied as read, as live applies a dump's chunks (a line before its `begin` has no run to join).
          const scope = r.src === 'dump' ? 'full' : 'poll';
          const startedAt = this.#pending.get(scope);
          if (startedAt !== undefined) core.onDumpLines(scope, [r.line], r.t, startedAt);
        }
        return;
      case 'listed':
        if (this.#pending.has(r.src === 'dump' ? 'full' : 'poll')) core.onListed(r.flows, r.t);
        return;
      case 'dump': {
        if (r.phase === 'begin') {
          this.#pending.set(r.scope, r.t);
          return;
        }
        const startedAt = this.#pending.get(r.scope);
        if (startedAt !== undefined) {
          core.onDumpEnd(r.scope, r.t, startedAt);
          this.#pending.delete(r.scope);
        }
        return;
      }
      case 'nat':
        core.onNat(r.snapshot, r.t);
        return;
      case 'counters':
        core.onCounters({ at: r.t, count: r.count, max: r.max, stats: r.stats });
        return;
      case 'gap':
        if (r.reason === 'enobufs' || r.reason === 'source-restart' || r.reason === 'backlog')
          core.onEventLoss(r.reason, r.detail ?? '', r.t);
        else core.addGap(r.reason, r.detail ?? r.reason, r.t);
        return;
      case 'deleted':
        core.markDeleted(r.id, r.t);
        return;
      case 'remedy':
        core.onRemedy(r.action);
        return;
      case 'state':
        // A slice exported from a longer recording starts here: the engine state at its first instant.
        this.#restore(structuredClone(r.state));
        return;
      case 'checkpoint':
      case 'header':
        return;
    }
  }
}
