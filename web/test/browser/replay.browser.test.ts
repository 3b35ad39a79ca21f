import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, startReplay, startSeedServe } from '../support/ctscope-process.js';
import { bulkRecordingText, seedRecordingText } from '../support/seed-recording.js';

// A row, not the alert toast that names the same flow.
const INCIDENT_ROW = 'tr[data-flow-id="137932478"]';

// One recorded serve run, replayed by `ctscope replay`; each test opens its own page.
describe('replay: ctscope replay of a recorded serve run, and a recording dropped on the page', () => {
  let recorder: CtscopeProcess | undefined;
  let replay: CtscopeProcess | undefined;
  let browser: TestBrowser;
  let page: Page;
  let recording: string;

  beforeAll(async () => {
    const started = await Promise.all([startSeedServe(), launchBrowser()]);
    recorder = started[0];
    browser = started[1];
    // Long enough for two suspect polls, so the recording holds the kept-alive evidence.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const r = await fetch(`${recorder.url}/api/flows?verdict=no-dnat`);
      const body = (await r.json()) as { flows: Array<{ id: string; keptAlive: boolean }> };
      if (body.flows.some((f) => f.id === '137932478' && f.keptAlive)) break;
      if (Date.now() > deadline) throw new Error('the seed incident was not flagged');
      await new Promise((res) => setTimeout(res, 200));
    }
    await recorder.stop();
    const dataDir = recorder.dataDir!;
    recording = join(dataDir, readdirSync(dataDir).find((n) => /^ctscope-.*\.ndjson(\.gz)?$/.test(n))!);
    replay = await startReplay(recording);
  }, 40_000);

  beforeEach(async () => {
    page = await browser.newPage();
  });

  afterEach(async () => {
    await page?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await replay?.stop();
    replay?.cleanup();
    await recorder?.stop();
    recorder?.cleanup();
  });

  /** The page served by the shared `ctscope replay`, connected. */
  async function openReplayPage(url = replay!.url): Promise<void> {
    await page.goto(url);
    await page.locator('[data-connection="open"]').waitFor({ timeout: 10_000 });
  }

  /** Flow ids on the page, and in the server's own table (the truth at the replay clock's time). */
  const pageRows = () =>
    page.locator('tr[data-flow-id]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-flow-id')!));
  async function serverRows(): Promise<string[]> {
    const body = (await (await fetch(`${replay!.url}/api/flows?limit=1000`)).json()) as {
      flows: Array<{ id: string }>;
    };
    return body.flows.map((f) => f.id);
  }

  it('ctscope replay: scrubbing to the start and back changes the table', async () => {
    // A fixed window over the whole recording: the table hides no row for being later than the clock, so rows
    // of another instant left in the page's table would show.
    const clock = (await (await fetch(`${replay!.url}/api/replay`)).json()) as { start: number; end: number };
    await openReplayPage(`${replay!.url}/?from=${clock.start - 60_000}&to=${clock.end + 60_000}`);
    const bar = page.getByRole('region', { name: 'Replay' });
    await bar.getByRole('button', { name: /Play/ }).waitFor();
    // Paused at the end: the final state.
    await page.locator(INCIDENT_ROW).waitFor({ timeout: 10_000 });
    expect(await page.locator(INCIDENT_ROW).getAttribute('data-verdict')).toBe('no-dnat');
    const atEnd = await page.locator('tr[data-flow-id]').count();
    await shot(page, 'replay-server-end');

    await bar.getByRole('button', { name: /Jump to the start/ }).click();
    await page.locator(INCIDENT_ROW).waitFor({ state: 'detached', timeout: 10_000 });
    const atStart = await page.locator('tr[data-flow-id]').count();
    expect(atStart).toBeLessThan(atEnd);
    // Every row shown is a flow of the recording's start, not one left over from its end.
    const truth = new Set(await serverRows());
    expect((await pageRows()).filter((id) => !truth.has(id))).toEqual([]);
    await shot(page, 'replay-server-start');

    await page.keyboard.press('End');
    await page.locator(INCIDENT_ROW).waitFor({ timeout: 10_000 });
    expect(page.url()).toMatch(/[?&]at=\d+/);
  }, 40_000);

  it('classifies a dropped recording in the browser, with no server, and scrubs it', async () => {
    // Its own server, stopped once the page is loaded: the drop must work with no server at all.
    const own = await startReplay(recording);
    try {
      await openReplayPage(own.url);
    } finally {
      await own.stop();
      own.cleanup();
    }
    await page.locator('[data-connection="reconnecting"]').waitFor({ timeout: 10_000 });
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'seed-incident.ndjson', { type: 'application/x-ndjson' }));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, seedRecordingText());
    await page.locator('[data-connection="local"]').waitFor({ timeout: 10_000 });
    const row = page.locator(INCIDENT_ROW);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getAttribute('data-verdict')).toBe('no-dnat');
    expect(await row.locator('[data-bad="reply.src"]').textContent()).toContain('10.43.0.10');
    expect(await row.textContent()).toContain('born in rule gap');
    expect(await row.textContent()).toContain('yes');
    await row.click();
    await page.locator('[data-remedy]').waitFor();
    await page.getByText('No rules for this frontend (a rule gap).').waitFor();
    await shot(page, 'replay-local-end');

    const bar = page.getByRole('region', { name: 'Replay' });
    await bar.getByRole('button', { name: /Jump to the start/ }).click();
    await row.waitFor({ state: 'detached', timeout: 5000 });
    await shot(page, 'replay-local-start');
    await bar.getByRole('button', { name: /Play/ }).click();
    await bar.getByRole('combobox').selectOption('25');
    await row.waitFor({ timeout: 10_000 });
  }, 40_000);

  it('stays smooth with 100k flows: virtualized rows, quick scrolling', async () => {
    await openReplayPage();
    const body = bulkRecordingText(100_000, 10);
    await page.route('**/load-test.ndjson', (route) =>
      route.fulfill({ body, contentType: 'application/x-ndjson' }),
    );
    const started = Date.now();
    await page.evaluate(async () => {
      const text = await (await fetch('/load-test.ndjson')).text();
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'load-test.ndjson'));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.getByText('100,000 shown').waitFor({ timeout: 30_000 });
    const loadMs = Date.now() - started;
    // Only the visible rows (plus overscan) exist in the DOM.
    expect(await page.locator('tr[data-flow-id]').count()).toBeLessThan(80);
    expect(await page.locator('.banner-critical').getAttribute('data-critical-count')).toBe('100');
    // Wheel-like steps (about six rows each) and long jumps across the whole table.
    const timing = await page.evaluate(async () => {
      const body = document.querySelector('.flow-body') as HTMLElement;
      const step = async (top: number) => {
        const t = performance.now();
        body.scrollTop = top;
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return performance.now() - t;
      };
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const wheel: number[] = [];
      for (let i = 1; i <= 30; i++) wheel.push(await step(body.scrollHeight / 2 + i * 280));
      const jumps: number[] = [];
      for (let i = 1; i <= 30; i++) jumps.push(await step((body.scrollHeight * i) / 31));
      return { wheel: median(wheel), jump: median(jumps) };
    });
    console.log(
      `100k flows: loaded and classified in ${loadMs} ms; per scroll step (two frames) median ${timing.wheel.toFixed(1)} ms wheeling, ${timing.jump.toFixed(1)} ms jumping`,
    );
    expect(timing.wheel).toBeLessThan(100);
    expect(timing.jump).toBeLessThan(150);
    expect(await page.locator('tr[data-flow-id]').count()).toBeLessThan(80);
    await shot(page, 'load-100k');
  }, 60_000);
});
