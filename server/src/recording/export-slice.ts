/**
 * Writes a self-contained slice [from, to] of a recording: gzip NDJSON starting with a header and the whole
 * replay state at `from` (a `state` record), then every record up to `to`. It replays exactly as the original
 * did over that window, in `ctscope replay` and in the page (drag and drop).
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createGzip } from 'node:zlib';
import { RECORDING_FORMAT_VERSION, type RecordingRecord } from '@ctscope/shared';
import type { IndexedRecording } from './indexed-recording.js';

export interface SliceResult {
  records: number;
  bytes: number;
}

export async function exportSlice(
  rec: IndexedRecording,
  from: number,
  to: number,
  outPath: string,
  writer: string,
): Promise<SliceResult> {
  const cursor = await rec.cursorNear(from);
  const tmp = `${outPath}.${process.pid}.tmp`;
  const file = createWriteStream(tmp);
  const gz = createGzip({ level: 6 });
  gz.pipe(file);
  let records = 0;
  let pending: string[] = [];
  let pendingBytes = 0;
  try {
    await cursor.advanceTo(from);
    const header: RecordingRecord = {
      k: 'header',
      t: from,
      v: RECORDING_FORMAT_VERSION,
      node: rec.index.node,
      netns: rec.index.netns,
      writer,
    };
    gz.write(`${JSON.stringify(header)}\n`);
    records++;
    // Serialized at once: the exported state shares objects with the live player. A flow's `counted` is the
    // store's running-count bookkeeping (a copy of its verdict), rebuilt on import: not written.
    const state = JSON.stringify({ k: 'state', t: from, state: cursor.player.exportState() }, (key, v) =>
      key === 'counted' ? undefined : v,
    );
    gz.write(`${state}\n`);
    records++;
    // Written as read (the cursor yields to the event loop every few thousand records, so gzip keeps up).
    await cursor.advanceTo(to, (r) => {
      if (r.k === 'header') return;
      const s = `${JSON.stringify(r)}\n`;
      pending.push(s);
      pendingBytes += s.length;
      records++;
      if (pendingBytes > 1 << 20) {
        gz.write(pending.join(''));
        pending = [];
        pendingBytes = 0;
      }
    });
    gz.end(pending.join(''));
    await once(file, 'finish');
    await rename(tmp, outPath);
    return { records, bytes: file.bytesWritten };
  } catch (err) {
    gz.destroy();
    file.destroy();
    await rm(tmp, { force: true });
    throw err;
  } finally {
    await cursor.close();
  }
}
