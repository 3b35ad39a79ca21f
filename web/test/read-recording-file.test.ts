/** readRecordingFile: plain and gzip recordings, including a gzip segment still being written (no trailer). */
import { constants, createGzip, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readRecordingFile } from '../src/transport/read-recording-file.js';

const TEXT = `${Array.from({ length: 500 }, (_, i) => JSON.stringify({ k: 'line', t: i, src: 'events', line: `[NEW] ünï ${i}` })).join('\n')}\n`;

/** A gzip stream sync-flushed after `text` but never ended: what the recorder leaves in an open segment. */
async function openSegment(text: string, tail = ''): Promise<Buffer> {
  const gz = createGzip();
  const chunks: Buffer[] = [];
  gz.on('data', (c: Buffer) => chunks.push(c));
  gz.write(text + tail);
  await new Promise<void>((r) => gz.flush(constants.Z_SYNC_FLUSH, () => r()));
  return Buffer.concat(chunks);
}

describe('readRecordingFile', () => {
  it.each([
    ['plain NDJSON', async () => Buffer.from(TEXT), TEXT],
    ['a closed gzip segment', async () => gzipSync(TEXT), TEXT],
    ['an open gzip segment (no trailer)', () => openSegment(TEXT), TEXT],
    [
      'an open gzip segment ending mid-line: up to the last whole line',
      () => openSegment(TEXT, '{"k":"li'),
      TEXT,
    ],
  ])('reads %s', async (_name, bytes, expected) => {
    expect(await readRecordingFile(new Blob([new Uint8Array(await bytes())]))).toBe(expected);
  });

  it('still fails on a gzip file with no whole line in it', async () => {
    await expect(
      readRecordingFile(new Blob([new Uint8Array(gzipSync(TEXT).subarray(0, 12))])),
    ).rejects.toThrow();
  });
});
