/**
 * The replay index of a recording: engine checkpoints every N records or M minutes, each with the segment and
 * byte offset that follows it, plus a per-minute outline. Built by streaming the recording once, cached on disk
 * (next to the segments, or in a cache directory when that is read-only), and extended or rebuilt when the
 * segments change.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import {
  AddressInterner,
  type Classification,
  type MinuteDensity,
  OutlineBuilder,
  type PlayerState,
  parseRecordingLine,
  RECORDING_FORMAT_VERSION,
  RecordingPlayer,
  type RecordingRecord,
  type TrackedFlow,
} from '@ctscope/shared';
import { INDEX_CHECKPOINT_MS, INDEX_CHECKPOINT_RECORDS, INDEX_DIR_NAME } from '../config.js';
import { decodeCheckpointFlow, encodeCheckpointFlow } from './checkpoint-codec.js';
import { type SkippedEntry, scanSegments } from './segment-files.js';
import { segmentLines } from './segment-lines.js';

/** Bumped when the index or checkpoint layout changes: an older index is rebuilt. */
export const INDEX_VERSION = 6;

/** Where reading resumes: a line start in one segment. */
export interface RecordingPosition {
  /** Segment number (index into the index's `segments`). */
  seg: number;
  /** Byte offset in the uncompressed segment. */
  offset: number;
  /** 1-based line number at that offset. */
  lineNo: number;
}

/** A checkpoint: the player's state after every record before `pos`. */
export interface IndexCheckpoint {
  /** Latest record time applied (no record before `pos` is later). */
  t: number;
  pos: RecordingPosition;
  /** Records applied before it. */
  records: number;
  /** File name in the index directory. */
  file: string;
  /** The minute in progress at this point (so a resumed build continues its counts). */
  minute?: MinuteDensity;
}

/** A segment as indexed (a changed size or mtime makes the index stale from it on). */
export interface IndexedSegment {
  name: string;
  bytes: number;
  mtimeMs: number;
}

/** The index file. */
export interface RecordingIndex {
  version: number;
  segments: IndexedSegment[];
  node: string;
  netns?: string;
  start: number;
  end: number;
  records: number;
  readErrors: number;
  /** The first read errors, for reporting. */
  errors: Array<{ segment: string; line: number; error: string }>;
  checkpoints: IndexCheckpoint[];
  minutes: MinuteDensity[];
  natChanges: number[];
  firstBad: number | null;
  /** How long the last (re)build took, ms, and how many records it read. */
  build: { ms: number; records: number; resumedFrom: number | null };
}

/** A recording on disk: its segment files and where its index lives. */
export interface RecordingSource {
  /** The directory or file given. */
  path: string;
  /** Segment files, oldest first. */
  files: string[];
  /** Entries with a segment's name that are not read (symbolic links, directories). */
  skipped: SkippedEntry[];
  indexDir: string;
}

export interface IndexOptions {
  checkpointRecords: number;
  checkpointMs: number;
  /** Cache directory used when the recording's own directory is not writable. */
  cacheDir: string;
}

export function defaultIndexOptions(): IndexOptions {
  return {
    checkpointRecords: INDEX_CHECKPOINT_RECORDS,
    checkpointMs: INDEX_CHECKPOINT_MS,
    cacheDir: join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ctscope', 'index'),
  };
}

async function writable(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, `.probe-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
    return true;
  } catch {
    return false;
  }
}

/** The segment files of a directory or a single file, and the index directory to use for them. */
export async function recordingSource(path: string, opts: IndexOptions): Promise<RecordingSource> {
  const st = await stat(path);
  const { names, skipped } = st.isDirectory() ? await scanSegments(path) : { names: [], skipped: [] };
  const files = st.isDirectory() ? names.map((n) => join(path, n)) : [path];
  const local = st.isDirectory()
    ? join(path, INDEX_DIR_NAME)
    : join(dirname(path), INDEX_DIR_NAME, basename(path));
  if (await writable(local)) return { path, files, skipped, indexDir: local };
  const key = createHash('sha256')
    .update(await realpath(path))
    .digest('hex')
    .slice(0, 24);
  const cached = join(opts.cacheDir, key);
  await mkdir(cached, { recursive: true });
  return { path, files, skipped, indexDir: cached };
}

async function describeSegments(files: string[]): Promise<IndexedSegment[]> {
  const out: IndexedSegment[] = [];
  for (const f of files) {
    const s = await stat(f);
    out.push({ name: basename(f), bytes: s.size, mtimeMs: s.mtimeMs });
  }
  return out;
}

/**
 * Read a checkpoint's player state (a fresh object: the player takes it over). The file is gzip NDJSON: the
 * state with an empty flow list and the table of distinct verdicts, then one tracked flow per line as
 * `VERDICT-INDEX<TAB>FLOW` (see checkpoint-codec.ts), so neither side ever holds one giant string. Flows share
 * their verdict objects and interned addresses, as in the live table.
 */
export async function readCheckpoint(src: RecordingSource, cp: IndexCheckpoint): Promise<PlayerState> {
  let state: (PlayerState & { verdicts?: Classification[] }) | undefined;
  let verdicts: Classification[] = [];
  const interner = new AddressInterner();
  const flows: TrackedFlow[] = [];
  for await (const l of segmentLines(join(src.indexDir, cp.file))) {
    if (l.text === '') continue;
    if (state === undefined) {
      state = JSON.parse(l.text) as PlayerState & { verdicts?: Classification[] };
      verdicts = state.verdicts ?? [];
      delete state.verdicts;
      continue;
    }
    const tab = l.text.indexOf('\t');
    const flow = decodeCheckpointFlow(l.text.slice(tab + 1), interner);
    const v = verdicts[Number(l.text.slice(0, tab))];
    if (v !== undefined) flow.verdict = v;
    flows.push(flow);
  }
  if (!state) throw new Error(`checkpoint ${cp.file} is empty`);
  state.core.store.tracker.flows = flows;
  return state;
}

async function writeCheckpoint(dir: string, file: string, state: PlayerState): Promise<void> {
  const tmp = join(dir, `${file}.tmp`);
  const gz = createGzip({ level: 1 });
  const done = pipeline(gz, createWriteStream(tmp));
  const flows = state.core.store.tracker.flows;
  // Distinct verdicts, by content (a table of 250k flows has a few dozen); most flows share the object itself.
  const verdicts: Classification[] = [];
  const byObject = new Map<Classification, number>();
  const byText = new Map<string, number>();
  const vis = new Int32Array(flows.length).fill(-1);
  flows.forEach((f, i) => {
    const v = f.verdict;
    if (v === undefined) return;
    let vi = byObject.get(v);
    if (vi === undefined) {
      const text = JSON.stringify(v);
      vi = byText.get(text) ?? verdicts.push(v) - 1;
      byText.set(text, vi);
      byObject.set(v, vi);
    }
    vis[i] = vi;
  });
  const head = {
    ...state,
    core: {
      ...state.core,
      store: { ...state.core.store, tracker: { ...state.core.store.tracker, flows: [] } },
    },
    verdicts,
  };
  gz.write(`${JSON.stringify(head)}\n`);
  let batch: string[] = [];
  for (let i = 0; i < flows.length; i++) {
    batch.push(`${vis[i]}\t${encodeCheckpointFlow(flows[i]!)}`);
    if (batch.length >= 2000) {
      if (!gz.write(`${batch.join('\n')}\n`)) await once(gz, 'drain');
      batch = [];
    }
  }
  gz.end(batch.length ? `${batch.join('\n')}\n` : '');
  await done;
  await rename(tmp, join(dir, file));
}

/** One parsed record with where the next one starts, or an unreadable line. */
export type ReadItem =
  | { rec: RecordingRecord; next: RecordingPosition }
  | { error: string; segment: string; line: number; next: RecordingPosition };

/**
 * Records from `pos` to the end of the recording, in file order. `keep`, when given, sees each raw line first
 * and skips the ones it refuses without parsing them (a cheap pre-filter for following one tuple).
 */
export async function* readFrom(
  files: readonly string[],
  pos: RecordingPosition,
  keep?: (text: string) => boolean,
): AsyncGenerator<ReadItem> {
  for (let seg = pos.seg; seg < files.length; seg++) {
    const file = files[seg]!;
    const first = seg === pos.seg;
    for await (const l of segmentLines(file, first ? pos.offset : 0, first ? pos.lineNo : 1)) {
      const next = { seg, offset: l.next, lineNo: l.lineNo + 1 };
      if (l.overlong) {
        yield { error: 'line too long', segment: basename(file), line: l.lineNo, next };
        continue;
      }
      if (l.text.trim() === '' || (keep && !keep(l.text))) continue;
      const rec = parseRecordingLine(l.text);
      if ('error' in rec) {
        yield { error: rec.error, segment: basename(file), line: l.lineNo, next };
      } else if (rec.k === 'header' && Math.trunc(rec.v) > RECORDING_FORMAT_VERSION) {
        yield {
          error: `unsupported format version ${rec.v} (reader knows ${RECORDING_FORMAT_VERSION})`,
          segment: basename(file),
          line: l.lineNo,
          next: { seg: seg + 1, offset: 0, lineNo: 1 },
        };
        break;
      } else yield { rec, next };
    }
  }
}

async function loadIndexFile(src: RecordingSource): Promise<RecordingIndex | undefined> {
  try {
    const idx = JSON.parse(await readFile(join(src.indexDir, 'index.json'), 'utf8')) as RecordingIndex;
    return idx.version === INDEX_VERSION ? idx : undefined;
  } catch {
    return undefined;
  }
}

/** How many leading segments an old index still describes exactly. */
function unchangedPrefix(old: IndexedSegment[], now: IndexedSegment[]): number {
  let n = 0;
  while (
    n < old.length &&
    n < now.length &&
    old[n]!.name === now[n]!.name &&
    old[n]!.bytes === now[n]!.bytes &&
    old[n]!.mtimeMs === now[n]!.mtimeMs
  )
    n++;
  return n;
}

/**
 * The index of a recording, from the cache when it still matches the segments; otherwise built by streaming
 * from the last checkpoint that is still valid (an old recording, or one still being written, costs one pass
 * over what is new).
 */
export async function loadOrBuildIndex(
  src: RecordingSource,
  opts: IndexOptions,
  onProgress?: (records: number) => void,
): Promise<RecordingIndex> {
  const segments = await describeSegments(src.files);
  const old = await loadIndexFile(src);
  const keep = old ? unchangedPrefix(old.segments, segments) : 0;
  if (old && keep === segments.length && keep === old.segments.length) return old;

  const started = performance.now();
  // Resume from the last checkpoint that lies wholly inside unchanged segments.
  const resume = old?.checkpoints.filter((c) => c.pos.seg < keep).at(-1);
  let player: RecordingPlayer;
  let pos: RecordingPosition = { seg: 0, offset: 0, lineNo: 1 };
  let idx: RecordingIndex;
  if (old && resume) {
    player = RecordingPlayer.fromState(await readCheckpoint(src, resume));
    player.reset = false;
    pos = resume.pos;
    const minuteOf = Math.floor(resume.t / 60_000) * 60_000;
    idx = {
      ...old,
      segments,
      records: resume.records,
      checkpoints: old.checkpoints.filter((c) => c.records <= resume.records),
      minutes: old.minutes.filter((m) => m.t < minuteOf),
      natChanges: old.natChanges.filter((t) => t <= resume.t),
      firstBad: old.firstBad !== null && old.firstBad <= resume.t ? old.firstBad : null,
      errors: [],
      readErrors: 0,
    };
  } else {
    player = new RecordingPlayer();
    idx = {
      version: INDEX_VERSION,
      segments,
      node: 'unknown',
      start: Number.NaN,
      end: Number.NaN,
      records: 0,
      readErrors: 0,
      errors: [],
      checkpoints: [],
      minutes: [],
      natChanges: [],
      firstBad: null,
      build: { ms: 0, records: 0, resumedFrom: null },
    };
  }
  // Old checkpoint files beyond the kept ones are overwritten or left unused; names are unique per record count.
  let read = 0;
  let lastCpRecords = idx.checkpoints.at(-1)?.records ?? 0;
  let lastCpT = idx.checkpoints.at(-1)?.t ?? Number.NaN;
  const outline = new OutlineBuilder(resume ? { ...idx, minute: resume.minute } : undefined);
  for await (const item of readFrom(src.files, pos)) {
    if ('error' in item) {
      idx.readErrors++;
      if (idx.errors.length < 20)
        idx.errors.push({ segment: item.segment, line: item.line, error: item.error });
      continue;
    }
    const r = item.rec;
    if (r.k === 'header') {
      idx.node = r.node;
      idx.netns = r.netns;
    }
    outline.feed(player, r);
    // No client reads this player: drop what a flush would send, or it piles up over millions of records.
    player.core.discardPending();
    if (!(idx.start <= r.t)) idx.start = r.t;
    if (!(idx.end >= r.t)) idx.end = r.t;
    idx.records++;
    read++;
    if (Number.isNaN(lastCpT)) lastCpT = r.t;
    if (read % 100_000 === 0) onProgress?.(read);
    if (
      idx.records - lastCpRecords >= opts.checkpointRecords ||
      player.applied - lastCpT >= opts.checkpointMs
    ) {
      const file = `cp-${idx.records}.ndjson.gz`;
      await writeCheckpoint(src.indexDir, file, player.exportState());
      idx.checkpoints.push({
        t: player.applied,
        pos: item.next,
        records: idx.records,
        file,
        minute: outline.minute ? { ...outline.minute } : undefined,
      });
      lastCpRecords = idx.records;
      lastCpT = player.applied;
    }
  }
  outline.closeMinute(player);
  idx.minutes = outline.minutes;
  idx.natChanges = outline.natChanges;
  idx.firstBad = outline.firstBad;
  if (Number.isNaN(idx.start)) idx.start = idx.end = 0;
  idx.build = {
    ms: Math.round(performance.now() - started),
    records: read,
    resumedFrom: resume?.records ?? null,
  };
  const tmp = join(src.indexDir, `index.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(idx));
  await rename(tmp, join(src.indexDir, 'index.json'));
  return idx;
}
