/** A recording opened through its index: seek to any time from the nearest checkpoint, then stream forward. */
import { type RecordingOutline, RecordingPlayer, type RecordingRecord } from '@ctscope/shared';
import {
  defaultIndexOptions,
  type IndexCheckpoint,
  type IndexOptions,
  loadOrBuildIndex,
  type ReadItem,
  type RecordingIndex,
  type RecordingPosition,
  type RecordingSource,
  readCheckpoint,
  readFrom,
  recordingSource,
} from './recording-index.js';

/** Records applied between yields to the event loop while streaming. */
const RECORDS_PER_SLICE = 20_000;

export class IndexedRecording {
  private constructor(
    readonly source: RecordingSource,
    readonly index: RecordingIndex,
  ) {}

  /** Open a directory of segments or one file, building (or extending) its index when needed. */
  static async open(
    path: string,
    opts: IndexOptions = defaultIndexOptions(),
    onProgress?: (records: number) => void,
  ): Promise<IndexedRecording> {
    const src = await recordingSource(path, opts);
    if (src.files.length === 0) throw new Error('no recording segments (ctscope-*.ndjson[.gz]) there');
    return new IndexedRecording(src, await loadOrBuildIndex(src, opts, onProgress));
  }

  get start(): number {
    return this.index.start;
  }

  get end(): number {
    return this.index.end;
  }

  outline(): RecordingOutline {
    const i = this.index;
    return {
      start: i.start,
      end: i.end,
      records: i.records,
      checkpoints: i.checkpoints.length,
      minutes: i.minutes,
      natChanges: i.natChanges,
      firstBad: i.firstBad,
    };
  }

  /** The latest checkpoint whose state holds nothing later than t. */
  checkpointAtOrBefore(t: number): IndexCheckpoint | undefined {
    const cps = this.index.checkpoints;
    let lo = 0;
    let hi = cps.length - 1;
    let found: IndexCheckpoint | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cps[mid]!.t <= t) {
        found = cps[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** A cursor at the start of the recording (before any record). */
  cursorAtStart(): ReplayCursor {
    return new ReplayCursor(this, new RecordingPlayer(), { seg: 0, offset: 0, lineNo: 1 });
  }

  /** A cursor at the nearest checkpoint at or before t (records up to t not yet applied). */
  async cursorNear(t: number): Promise<ReplayCursor> {
    const cp = this.checkpointAtOrBefore(t);
    if (!cp) return this.cursorAtStart();
    const player = RecordingPlayer.fromState(await readCheckpoint(this.source, cp));
    return new ReplayCursor(this, player, cp.pos, cp);
  }

  /** The replay state at time t: nearest checkpoint, then every record up to t. */
  async playerAt(t: number): Promise<RecordingPlayer> {
    const c = await this.cursorNear(t);
    try {
      c.headless = true;
      await c.advanceTo(t);
      return c.player;
    } finally {
      // The player outlives its cursor; the segment it was reading is closed now, not by the GC.
      await c.close();
    }
  }
}

/** A player and the reading position just after the last record it applied. */
export class ReplayCursor {
  #iter: AsyncGenerator<ReadItem> | undefined;
  #ahead: ReadItem | undefined;
  #done = false;
  /** Unreadable lines met so far. */
  readErrors = 0;
  /** No client flushes this cursor's player (a post-mortem question): drop client changes as it goes. */
  headless = false;
  /** Raw-line pre-filter (see readFrom); set before the first read. */
  keep: ((text: string) => boolean) | undefined;

  constructor(
    readonly recording: IndexedRecording,
    readonly player: RecordingPlayer,
    readonly from: RecordingPosition,
    /** The checkpoint it started from, if any. */
    readonly checkpoint?: IndexCheckpoint,
  ) {}

  /** Whether every record has been applied. */
  get done(): boolean {
    return this.#done;
  }

  /** Time of the next record not yet applied (Infinity at the end). */
  async nextTime(): Promise<number> {
    const item = await this.#peek();
    return item && 'rec' in item ? item.rec.t : Number.POSITIVE_INFINITY;
  }

  async #peek(): Promise<ReadItem | undefined> {
    if (this.#ahead || this.#done) return this.#ahead;
    this.#iter ??= readFrom(this.recording.source.files, this.from, this.keep);
    const n = await this.#iter.next();
    if (n.done) this.#done = true;
    else this.#ahead = n.value;
    return this.#ahead;
  }

  /**
   * Apply records in file order while their time is ≤ t (the first later record stops it, as in a full
   * replay), then mark t reached. `onRecord` sees each record after it was applied. Yields to the event loop
   * every few thousand records.
   */
  async advanceTo(t: number, onRecord?: (r: RecordingRecord) => void): Promise<void> {
    let n = 0;
    for (;;) {
      const item = await this.#peek();
      if (!item) break;
      if ('error' in item) {
        this.readErrors++;
        this.#ahead = undefined;
        continue;
      }
      if (item.rec.t > t) break;
      this.player.feed(item.rec);
      this.#ahead = undefined;
      if (onRecord) onRecord(item.rec);
      else if (this.headless) this.player.core.discardPending();
      if (++n % RECORDS_PER_SLICE === 0) await new Promise((r) => setImmediate(r));
    }
    this.player.reach(t);
  }

  /** Stop reading (closes the file). */
  async close(): Promise<void> {
    await this.#iter?.return(undefined);
  }
}
