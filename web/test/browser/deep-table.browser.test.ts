/**
 * A 50,000-flow table in a real browser: the page holds the worst 500; scrolling deep into the table fetches
 * the rows there from the server (`range`), shows them with their data, and opens a deep row's detail.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, closeAll, startSeedServe } from '../support/ctscope-process.js';

const FLOWS = 50_000;
/** Row 40,000 of the worst-first table (0-based index). */
const DEEP = 39_999;
/** Row height in the table, px (FlowTable's ROW_HEIGHT). */
const ROW_PX = 46;

/** Entry `i` of the dump: healthy replied UDP flows; ids of one length rise with `i`, so the table keeps dump order. */
function entry(i: number) {
  const src = `10.50.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  const sport = 10_000 + (i % 50_000);
  const id = String(1_000_000_000 + i);
  return {
    id,
    orig: `${src}:${sport}`,
    line: `ipv4     2 udp      17 29 src=${src} dst=10.60.0.1 sport=${sport} dport=9000 src=10.60.0.1 dst=${src} sport=9000 dport=${sport} mark=0 use=1 id=${id}`,
  };
}

/** The part of `/api/stats` this test reads. */
interface StatsLive {
  flows: { live: number };
}

describe('a 50k-flow table scrolled deep', () => {
  let server: CtscopeProcess;
  let browser: TestBrowser;
  let page: Page;
  const deep = entry(DEEP);
  /** `range` requests the page sent. */
  const ranges: Array<{ id: number; offset: number; limit: number }> = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startSeedServe({
        // Dumps of 50k lines through the fake tool are slow: few periodic ones.
        suspectPollMs: 60_000,
        env: (dir) => {
          const dump = join(dir, 'big-dump.txt');
          const lines = Array.from({ length: FLOWS }, (_, i) => entry(i).line);
          writeFileSync(dump, `${lines.join('\n')}\n`);
          const none = join(dir, 'no-events.txt');
          writeFileSync(none, '');
          return { FAKE_CT_LIST: dump, FAKE_CT_EVENTS: none, FAKE_CT_COUNT: String(FLOWS) };
        },
      }),
      launchBrowser(),
    ]);
    page = await browser.newPage();
    page.on('websocket', (ws) =>
      ws.on('framesent', ({ payload }) => {
        const m = JSON.parse(String(payload)) as { type: string; id: number; offset: number; limit: number };
        if (m.type === 'range') ranges.push(m);
      }),
    );
  }, 60_000);

  afterAll(() => closeAll(browser, server));

  it('gives the scrollbar the whole table, not just the window the page holds', async () => {
    // The whole table first: a page that connects while the fake 50k-line dump is still being ingested holds a
    // partial window for a moment, and rightly asks for the rows in view (seen on a loaded CI machine).
    await expect
      .poll(async () => ((await (await fetch(`${server.url}/api/stats`)).json()) as StatsLive).flows.live, {
        timeout: 30_000,
      })
      .toBe(FLOWS);
    await page.goto(server.url);
    await page.locator('[data-connection="open"]').waitFor({ timeout: 20_000 });
    const body = page.locator('.flow-body');
    await expect
      .poll(() => body.evaluate((el) => el.scrollHeight), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(FLOWS * ROW_PX);
    expect(await page.locator('table[aria-label="Flows"]').getAttribute('aria-rowcount')).toBe(
      String(FLOWS + 1),
    );
    expect(await page.locator('.filter-count').textContent()).toContain('50,000 shown');
    // Nothing past the window is in view yet, so nothing was asked for.
    expect(ranges).toEqual([]);
  }, 60_000);

  it('scrolls to row 40,000 and shows it with its data once the server sent it', async () => {
    const body = page.locator('.flow-body');
    await body.evaluate((el, top) => el.scrollTo({ top }), DEEP * ROW_PX - 200);
    const row = page.locator(`tr[data-flow-id="${deep.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getAttribute('aria-rowindex')).toBe(String(DEEP + 2));
    expect(await row.textContent()).toContain(deep.orig);
    expect(await row.textContent()).toContain('10.60.0.1:9000');
    // Its neighbours are there too, in table order.
    const next = entry(DEEP + 1);
    expect(await page.locator(`tr[aria-rowindex="${DEEP + 3}"]`).getAttribute('data-flow-id')).toBe(next.id);
    expect(await page.locator('[data-pending-row]').count()).toBe(0);
    // One jump, one request for the pages around it, within the server's largest range.
    expect(ranges.length).toBe(1);
    expect(ranges[0]!.limit).toBeLessThanOrEqual(1000);
    expect(ranges[0]!.offset).toBeLessThanOrEqual(DEEP);
    expect(ranges[0]!.offset + ranges[0]!.limit).toBeGreaterThan(DEEP + 1);
    await shot(page, 'deep-table-row');
  }, 30_000);

  it('opens the deep row’s detail (by flow id)', async () => {
    await page.locator(`tr[data-flow-id="${deep.id}"]`).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('flow')).toBe(deep.id);
    const detail = page.getByRole('complementary', { name: `Flow ${deep.id}` });
    await detail.locator('.detail-tuples').waitFor({ timeout: 10_000 });
    expect(await detail.locator('.detail-tuples').textContent()).toContain(deep.orig);
    expect(await page.locator(`tr[data-flow-id="${deep.id}"]`).getAttribute('aria-selected')).toBe('true');
    await shot(page, 'deep-table-detail');
  }, 30_000);

  it('jumps elsewhere: shows placeholders, then the rows there', async () => {
    const far = entry(12_345);
    const body = page.locator('.flow-body');
    await body.evaluate((el, top) => el.scrollTo({ top }), 12_345 * ROW_PX - 200);
    // Asked for after a short quiet time, so the rows there first show as placeholders.
    await page.locator('[data-pending-row]').first().waitFor({ timeout: 5000 });
    await page.locator(`tr[data-flow-id="${far.id}"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-pending-row]').count()).toBe(0);
    expect(await page.locator(`tr[data-flow-id="${far.id}"]`).textContent()).toContain(far.orig);
  }, 30_000);
});
