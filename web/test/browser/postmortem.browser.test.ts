import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingOutline } from '@ctscope/shared';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSlice } from '../../../server/src/recording/export-slice.js';
import { IndexedRecording } from '../../../server/src/recording/indexed-recording.js';
import { type SynthResult, writeSyntheticRecording } from '../../../server/test/support/synth-recording.mjs';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, startReplay } from '../support/ctscope-process.js';

// A 40-minute recording: the DNS rules vanish at +25 min for 30 s; the flows created then stay until +30 min.
const INCIDENT = { at: 25 * 60_000, durationMs: 30_000, deleteAfterMs: 4.5 * 60_000 };

describe('post-mortem page: a long recording through its index', () => {
  let root: string;
  let synth: SynthResult;
  let replay: CtscopeProcess | undefined;
  let browser: TestBrowser;
  let page: Page;
  let outline: RecordingOutline;

  const clockTime = async () =>
    Number(await page.getByRole('slider', { name: 'Replay position' }).getAttribute('data-replay-time'));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pmx-page-'));
    synth = await writeSyntheticRecording(join(root, 'rec'), {
      durationMs: 40 * 60_000,
      rate: 4,
      gzip: true,
      segmentBytes: 2_000_000,
      unansweredShare: 0,
      dumpEveryMs: 10 * 60_000,
      gapEveryMs: 13 * 60_000,
      incidents: [INCIDENT],
    });
    // Index it first (as a second replay of the same directory finds it), so the server starts within its timeout.
    await IndexedRecording.open(synth.dir);
    [replay, browser] = await Promise.all([startReplay(synth.dir), launchBrowser()]);
    outline = (await (await fetch(`${replay.url}/api/replay/index`)).json()) as RecordingOutline;
    page = await browser.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await replay?.stop();
    replay?.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  it('draws the density strip over the whole recording and scrubs it by clicking', async () => {
    expect(outline.minutes).toHaveLength(40);
    await page.goto(replay!.url);
    const bar = page.getByRole('region', { name: 'Replay' });
    const strip = bar.getByRole('button', { name: /Bad flows per minute/ });
    await strip.waitFor({ timeout: 15_000 });
    expect(Number(await strip.getAttribute('data-minutes'))).toBe(40);
    expect(Number(await strip.getAttribute('data-bad-minutes'))).toBeGreaterThan(0);
    await page.locator('[data-flow-id]').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-severity="critical"]').count()).toBe(0);

    // Click a tenth of the way in: the server seeks there (through a checkpoint) and the table follows.
    const box = (await strip.boundingBox())!;
    await strip.click({ position: { x: box.width * 0.1, y: box.height / 2 } });
    await expect.poll(clockTime, { timeout: 15_000 }).toBeLessThan(synth.start + 6 * 60_000);
    expect(await clockTime()).toBeGreaterThan(synth.start + 2 * 60_000);
    // During the incident (at 27 min) the kept-alive flows are critical.
    await strip.click({ position: { x: box.width * (27 / 40), y: box.height / 2 } });
    await expect.poll(clockTime, { timeout: 15_000 }).toBeGreaterThan(synth.start + 26 * 60_000);
    expect(await clockTime()).toBeLessThan(synth.start + 28 * 60_000);
    await page.locator('[data-severity="critical"]').first().waitFor({ timeout: 30_000 });
    await shot(page, 'postmortem-strip-incident');
  }, 90_000);

  it('jumps to the first bad flow and to the next NAT change with one click each', async () => {
    const bar = page.getByRole('region', { name: 'Replay' });
    await bar.getByRole('button', { name: /Jump to the start/ }).click();
    await expect.poll(clockTime, { timeout: 15_000 }).toBe(synth.start);
    await bar.getByRole('button', { name: 'First bad flow' }).click();
    await expect.poll(clockTime, { timeout: 15_000 }).toBe(outline.firstBad);
    // The first flows to go bad: the live DNS flows, once the service's rules vanish.
    expect(outline.firstBad).toBe(synth.truth.natChanges[0]);
    await page.locator('[data-verdict="no-endpoints"]').first().waitFor({ timeout: 15_000 });

    await bar.getByRole('button', { name: /Jump to the start/ }).click();
    await expect.poll(clockTime, { timeout: 15_000 }).toBe(synth.start);
    await bar.getByRole('button', { name: 'Next NAT change' }).click();
    await expect.poll(clockTime, { timeout: 15_000 }).toBe(synth.truth.natChanges[0]);
    await bar.getByRole('button', { name: 'Next NAT change' }).click();
    await expect.poll(clockTime, { timeout: 15_000 }).toBe(synth.truth.natChanges[1]);
    expect(await bar.getByRole('button', { name: 'Next NAT change' }).isDisabled()).toBe(true);
    await shot(page, 'postmortem-next-nat');
  }, 90_000);

  it('opens an exported gzip slice dropped on the page, with its own strip', async () => {
    const rec = await IndexedRecording.open(synth.dir);
    const file = join(root, 'slice.ndjson.gz');
    await exportSlice(
      rec,
      synth.start + INCIDENT.at + 60_000,
      synth.start + INCIDENT.at + 180_000,
      file,
      'test',
    );
    const bytes = [...readFileSync(file)];
    await page.evaluate((b) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(b)], 'slice.ndjson.gz', { type: 'application/gzip' }));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await page.locator('[data-connection="local"]').waitFor({ timeout: 15_000 });
    // It starts from the state at its first instant: the kept-alive flows are there at once.
    await page
      .locator('[data-severity="critical"][data-verdict="no-dnat"]')
      .first()
      .waitFor({ timeout: 15_000 });
    const strip = page.getByRole('button', { name: /Bad flows per minute/ });
    expect(Number(await strip.getAttribute('data-minutes'))).toBeGreaterThanOrEqual(2);
    await shot(page, 'postmortem-slice-dropped');
  }, 90_000);
});
