/** Applies recording records to an {@link EngineCore} up to a time: the one replay path for server and browser. */
import { EngineCore } from '../engine/engine-core.js';
import type { FlowStoreOptions } from '../flows/flow-store.js';
import type { RecordingRecord } from './recording-format.js';

/** Plays records (oldest first) into a fresh core; seeking backwards rebuilds from the start. */
export class RecordingPlayer {
  #core: EngineCore;
  #cursor = 0;
  #applied = Number.NEGATIVE_INFINITY;
  /** Dumps in progress, per scope: a suspect poll can finish (and be recorded) while a long full dump runs. */
  #pending = new Map<'full' | 'poll', { lines: string[]; startedAt: number }>();
  /** Set when advanceTo rebuilt the core; the owner clears it once clients got a full sync. */
  reset = false;

  constructor(
    readonly records: readonly RecordingRecord[],
    private readonly storeOptions: Partial<FlowStoreOptions> = {},
  ) {
    this.#core = new EngineCore(storeOptions);
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
      this.#apply(records[this.#cursor]!);
      this.#cursor++;
    }
    this.#applied = t;
    return rebuilt;
  }

  #apply(r: RecordingRecord): void {
    const core = this.#core;
    switch (r.k) {
      case 'line':
        if (r.src === 'events') core.onEventLine(r.line, r.t);
        else this.#pending.get(r.src === 'dump' ? 'full' : 'poll')?.lines.push(r.line);
        return;
      case 'dump': {
        if (r.phase === 'begin') {
          this.#pending.set(r.scope, { lines: [], startedAt: r.t });
          return;
        }
        const open = this.#pending.get(r.scope);
        if (open) {
          core.onDump(r.scope, open.lines, r.t, open.startedAt);
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
      case 'checkpoint':
      case 'header':
        return;
    }
  }
}
