import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, startSeedServe } from '../support/ctscope-process.js';

const INCIDENT = '137932478';
const RAISED_TOAST = '[data-alert-toast][data-alert-state="raised"]';

describe('alerts on the page (seed incident, fake node tools)', () => {
  let server: CtscopeProcess;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startSeedServe(), launchBrowser()]);
    page = await browser.newPage();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    server?.cleanup();
  });

  it('toasts raised alerts and names the latest in the critical banner', async () => {
    await page.goto(server.url);
    const toast = page.locator(RAISED_TOAST).first();
    await toast.waitFor({ timeout: 20_000 });
    expect(await toast.textContent()).toContain('no DNAT');
    const latest = page.locator('.banner-critical [data-alert-latest]');
    await latest.waitFor();
    expect(await latest.textContent()).toContain('raised');
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

  it('shows the latest alerts on the wall display', async () => {
    await page.goto(`${server.url}/?kiosk=1`);
    const item = page.locator('[data-kiosk-alerts] li[data-alert-state]').first();
    await item.waitFor({ timeout: 15_000 });
    expect(await item.textContent()).toMatch(/raised|cleared/);
    await page.locator('.banner-large [data-alert-latest]').waitFor();
    await shot(page, 'alerts-kiosk');
  }, 30_000);
});
