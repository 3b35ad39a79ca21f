/** The replay engine: serves a recording through the same API, with a clock that plays, pauses and scrubs. */
import {
  type EngineCore,
  type FlowReport,
  type LoadedRecording,
  REPLAY_INTERVALS,
  RecordingPlayer,
  type RecordingRecord,
  ReplayClock,
  replaySources,
} from '@ctscope/shared';
import { type RecordingReadError, readRecording } from '../recording/recording-reader.js';
import type { DeleteResult, Engine, EngineBatch } from './engine.js';
import { PerFlowLock } from './per-flow-lock.js';

/** Read a recording file or directory into memory, oldest first. */
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

export class ReplayEngine implements Engine {
  readonly mode = 'replay' as const;
  readonly allowDelete = false;
  readonly autoRemedy = 'off' as const;
  readonly deleteLock = new PerFlowLock();
  readonly node: { name: string; netns?: string };
  readonly intervals = REPLAY_INTERVALS;
  readonly clock: ReplayClock;
  private readonly player: RecordingPlayer;

  constructor(
    private readonly rec: LoadedRecording,
    clockNow?: () => number,
  ) {
    this.node = { name: rec.node, netns: rec.netns };
    this.clock = new ReplayClock(rec.start, rec.end, clockNow);
    this.player = new RecordingPlayer(rec.records);
  }

  get core(): EngineCore {
    return this.player.core;
  }

  /** Apply every record up to time t (rebuilding from the start when scrubbing backwards). */
  advanceTo(t: number): void {
    this.player.advanceTo(t);
  }

  sources() {
    return replaySources(this.clock.state().start);
  }

  flush(maxUpserts?: number): EngineBatch {
    const t = this.clock.time;
    this.advanceTo(t);
    const batch = this.core.flush(t, maxUpserts);
    if (this.player.reset) {
      this.player.reset = false;
      return { ...batch, reset: true };
    }
    return batch;
  }

  async deleteFlow(_report: FlowReport): Promise<DeleteResult> {
    return { ok: false, command: [], message: 'a replay is read-only' };
  }

  extraStats(): Record<string, unknown> {
    return {
      replay: { ...this.clock.state(), records: this.rec.records.length, readErrors: this.rec.errors.length },
    };
  }
}
