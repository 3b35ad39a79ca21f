/**
 * The replay engine: serves a recording through the same API, with a clock that plays, pauses and scrubs.
 * Records stream from disk through the recording's index, so memory stays bounded however long it is: a seek
 * restores the nearest checkpoint and applies only what follows, off the request path.
 */
import {
  type EngineCore,
  type FlowReport,
  type LoadedRecording,
  REPLAY_INTERVALS,
  type RecordingRecord,
  ReplayClock,
  replaySources,
} from '@ctscope/shared';
import { IndexedRecording, type ReplayCursor } from '../recording/indexed-recording.js';
import { type RecordingReadError, readRecording } from '../recording/recording-reader.js';
import type { DeleteResult, Engine, EngineBatch } from './engine.js';
import { PerFlowLock } from './per-flow-lock.js';

/**
 * Read a whole recording into memory, oldest first: the page's file replay works this way, and the benchmark
 * keeps it as the full-load baseline. `ctscope replay` streams instead ({@link ReplayEngine}).
 */
export async function loadRecording(path: string): Promise<LoadedRecording> {
  const records: RecordingRecord[] = [];
  const errors: RecordingReadError[] = [];
  let node = 'unknown';
  let netns: string | undefined;
  for await (const r of readRecording(path)) {
    if ('error' in r) errors.push(r);
    else {
      if (r.k === 'header') {
        node = r.node;
        netns = r.netns;
      }
      records.push(r);
    }
  }
  records.sort((a, b) => a.t - b.t);
  const start = records[0]?.t ?? 0;
  return { records, errors, node, netns, start, end: records[records.length - 1]?.t ?? start };
}

/** A forward jump to a checkpoint is taken when it skips at least this many records. */
const JUMP_RECORDS = 50_000;

export class ReplayEngine implements Engine {
  readonly mode = 'replay' as const;
  readonly allowDelete = false;
  readonly autoRemedy = 'off' as const;
  readonly deleteLock = new PerFlowLock();
  readonly node: { name: string; netns?: string };
  readonly intervals = REPLAY_INTERVALS;
  readonly clock: ReplayClock;
  #cursor: ReplayCursor;
  /** Records applied by the current cursor, counted from the start of the recording. */
  #records = 0;
  #target: number;
  #pump: Promise<void> | undefined;
  #reset = false;
  /**
   * A rebuild (seek backwards, or a jump to a checkpoint) is under way: the core holds only part of the way to
   * the target, so clients keep what they have until it is there, then get one full sync.
   */
  #rebuilding = false;
  #seeks = 0;
  #lastSeekMs = 0;
  #pumpError: string | undefined;

  constructor(
    readonly recording: IndexedRecording,
    clockNow?: () => number,
  ) {
    const idx = recording.index;
    this.node = { name: idx.node, netns: idx.netns };
    this.clock = new ReplayClock(idx.start, idx.end, clockNow);
    this.#cursor = recording.cursorAtStart();
    this.#target = idx.start;
  }

  /** Open a recording (building its index if needed) as a replay engine. */
  static async open(path: string, onProgress?: (records: number) => void): Promise<ReplayEngine> {
    return new ReplayEngine(await IndexedRecording.open(path, undefined, onProgress));
  }

  get core(): EngineCore {
    return this.#cursor.player.core;
  }

  /** Time applied so far. */
  get applied(): number {
    return this.#cursor.player.applied;
  }

  /** Bring the state to time t in the background (the hub keeps serving what is applied meanwhile). */
  advanceTo(t: number): void {
    this.#target = t;
    this.#pump ??= this.#run().finally(() => {
      this.#pump = undefined;
    });
  }

  /** Stop reading the recording (closes the open segment); for shutdown. */
  async close(): Promise<void> {
    while (this.#pump) await this.#pump;
    await this.#cursor.close();
  }

  /** Resolves once the state is at the clock's time (tests, and routes that answer at an instant). */
  async settled(): Promise<void> {
    this.advanceTo(this.clock.time);
    while (this.#pump) await this.#pump;
  }

  async #run(): Promise<void> {
    try {
      while (this.applied !== this.#target) {
        const t = this.#target;
        const started = performance.now();
        const cp = this.recording.checkpointAtOrBefore(t);
        if (t < this.applied || (cp && cp.records - this.#records >= JUMP_RECORDS)) {
          this.#rebuilding = true;
          // Drop the current state before loading the next: only one table is ever held.
          await this.#cursor.close();
          this.#cursor = this.recording.cursorAtStart();
          this.#records = 0;
          const next = await this.recording.cursorNear(t);
          this.#cursor = next;
          this.#records = next.checkpoint?.records ?? 0;
        }
        await this.#cursor.advanceTo(t, () => {
          this.#records++;
        });
        if (this.#rebuilding) {
          // Clients get a full sync of this state, so what changed on the way here is not sent as well.
          this.core.discardPending();
          this.#rebuilding = false;
          this.#reset = true;
          this.#seeks++;
          this.#lastSeekMs = Math.round(performance.now() - started);
        }
        if (this.#target === t) break;
      }
    } catch (err) {
      // A segment vanished (retention) or became unreadable: keep serving what was applied, and say why.
      this.#pumpError = (err as Error).message;
    } finally {
      if (this.#rebuilding) {
        this.#rebuilding = false;
        this.#reset = true;
      }
    }
  }

  sources() {
    return replaySources(this.clock.state().start);
  }

  flush(maxUpserts?: number): EngineBatch {
    this.advanceTo(this.clock.time);
    // Mid-rebuild: send nothing (the changes stay in the core; the reset after it makes them moot).
    if (this.#rebuilding) return emptyBatch(this.core.store.now);
    // The store's own time, not the clock's: judging happens at record times only (see RecordingPlayer.feed).
    const batch = this.core.flush(this.core.store.now, maxUpserts);
    if (this.#reset || this.#cursor.player.reset) {
      this.#reset = false;
      this.#cursor.player.reset = false;
      return { ...batch, reset: true };
    }
    return batch;
  }

  async deleteFlow(_report: FlowReport): Promise<DeleteResult> {
    return { ok: false, command: [], message: 'a replay is read-only' };
  }

  extraStats(): Record<string, unknown> {
    const idx = this.recording.index;
    return {
      replay: {
        ...this.clock.state(),
        applied: this.applied,
        records: idx.records,
        readErrors: idx.readErrors,
        checkpoints: idx.checkpoints.length,
        seeks: this.#seeks,
        lastSeekMs: this.#lastSeekMs,
        error: this.#pumpError ?? null,
      },
    };
  }
}

function emptyBatch(now: number): EngineBatch {
  return { now, upserts: [], removals: [], rates: [], markers: [], nat: [], alerts: [], sources: [] };
}
