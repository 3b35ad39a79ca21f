import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, closeAll, startSeedServe } from '../support/ctscope-process.js';

const INCIDENT = '137932478';
const RAISED_TOAST = '[data-alert-toast][data-alert-state="raised"]';

type Box = { x: number; y: number; width: number; height: number };
const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Pairs (toast or alert bar, flow row) whose boxes intersect on screen. */
async function toastsOverRows(page: Page): Promise<string[]> {
  const boxes = async (sel: string) =>
    (await page.locator(sel).evaluateAll((els) =>
      els.map((el) => {
        const r = el.getBoundingClientRect();
        return {
          id: el.getAttribute('data-flow-id') ?? el.className,
          x: r.x,
          y: r.y,
          width: r.width,
          height: r.height,
        };
      }),
    )) as Array<Box & { id: string }>;
  const over = await boxes('[data-alert-toast], .alert-history-bar');
  const rows = await boxes('tr[data-flow-id]');
  return over.flatMap((t) => rows.filter((r) => overlaps(t, r)).map((r) => `${t.id} over row ${r.id}`));
}

describe('alerts on the page (seed incident, fake node tools)', () => {
  let server: CtscopeProcess;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startSeedServe(), launchBrowser()]);
    page = await browser.newPage();
  }, 30_000);

  afterAll(() => closeAll(browser, server));

  it('toasts raised alerts and names the latest in the critical banner', async () => {
    await page.goto(server.url);
    const toast = page.locator(RAISED_TOAST).first();
    await toast.waitFor({ timeout: 20_000 });
    expect(await toast.textContent()).toContain('no DNAT');
    const latest = page.locator('.banner-critical [data-alert-latest]');
    await latest.waitFor();
    expect(await latest.textContent()).toContain('raised');
    // The toasts never hide a flow row, with or without the detail pane open.
    await page.locator('tr[data-flow-id]').first().waitFor();
    expect(await page.locator(RAISED_TOAST).count()).toBeGreaterThan(1);
    expect(await toastsOverRows(page)).toEqual([]);
    await page.goto(`${server.url}/?flow=${INCIDENT}`);
    await page.locator('.detail-tuples').waitFor({ timeout: 15_000 });
    await toast.waitFor();
    expect(await toastsOverRows(page)).toEqual([]);
    await shot(page, 'alerts-toast');
  }, 40_000);

  it('keeps the alerts across a fresh sync (reload) and lists the incident in the history', async () => {
    await page.reload();
    // After a reload every alert held comes from the sync.
    await page.locator('[data-alert-toast]').first().waitFor({ timeout: 15_000 });
    await page.locator('[data-alert-history-toggle]').click();
    const entry = page
      .locator(`[data-alert-history] li[data-alert-state="raised"][data-alert-flow="${INCIDENT}"]`)
      .first();
    await entry.waitFor();
    expect(await entry.textContent()).toContain(`flow ${INCIDENT}`);
    await shot(page, 'alerts-history');
  }, 30_000);

  it('dismisses toasts but keeps them in the history', async () => {
    await page.getByRole('button', { name: 'Dismiss all' }).click();
    expect(await page.locator('[data-alert-toast]').count()).toBe(0);
    expect(
      await page.locator(`[data-alert-history] li[data-alert-flow="${INCIDENT}"]`).count(),
    ).toBeGreaterThan(0);
  }, 10_000);

  it('lets toasts go by themselves after a few seconds, keeping them in the history', async () => {
    await page.mouse.move(5, 500); // Away from the toasts: a pointer on them holds them.
    await page.reload();
    await page.locator(RAISED_TOAST).first().waitFor({ timeout: 15_000 });
    await page
      .locator('[data-alert-toast]')
      .first()
      .waitFor({ state: 'detached', timeout: 8000 + 5000 });
    expect(await page.locator('[data-alert-toast]').count()).toBe(0);
    await page.locator('[data-alert-history-toggle]').click();
    await page.locator(`[data-alert-history] li[data-alert-flow="${INCIDENT}"]`).first().waitFor();
    expect(await page.locator('[data-alert-history] li').count()).toBeGreaterThan(1);
  }, 30_000);

  it('shows the latest alerts on the wall display', async () => {
    await page.goto(`${server.url}/?kiosk=1`);
    const item = page.locator('[data-kiosk-alerts] li[data-alert-state]').first();
    await item.waitFor({ timeout: 15_000 });
    expect(await item.textContent()).toMatch(/raised|cleared/);
    await page.locator('.banner-large [data-alert-latest]').waitFor();
    // Every key figure fits its card on a 1440 px wall (e.g. table fill "✓ <0.01%").
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.locator('.kpi-value').first().waitFor();
    const overflowing = await page
      .locator('.kpi')
      .evaluateAll((cards) =>
        cards.flatMap((card) =>
          [card, ...card.querySelectorAll('*')]
            .filter((e) => e instanceof HTMLElement && e.scrollWidth > e.clientWidth)
            .map((e) => `${card.querySelector('legend')?.textContent}: ${e.textContent}`),
        ),
      );
    expect(overflowing).toEqual([]);
    await shot(page, 'alerts-kiosk');
  }, 30_000);
});
