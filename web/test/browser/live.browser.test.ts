import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, startSeedServe } from '../support/ctscope-process.js';

const REMEDY = 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53';
const INCIDENT_ROW = '[data-flow-id="137932478"]';

describe('dashboard against ctscope serve (seed incident, fake node tools)', () => {
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

  it('highlights the seed incident row with the marked reply source and the expected endpoint', async () => {
    await page.goto(server.url);
    const row = page.locator(INCIDENT_ROW);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-verdict')).toBe('no-dnat');
    const bad = row.locator('[data-bad="reply.src"]');
    expect(await bad.textContent()).toContain('10.43.0.10');
    expect(await row.textContent()).toContain('expected 172.20.112.199:53');
    expect(await row.textContent()).toContain('10.42.0.33:52001');
    // Kept alive needs two suspect polls (2 s apart).
    await row.locator('.kept').waitFor({ timeout: 12_000 });
    await page.locator('[data-connection="open"]').waitFor();
    await shot(page, 'live-dashboard');
  }, 40_000);

  it('opens the detail with the remedy, the NAT rules and the lifecycle', async () => {
    await page.locator(INCIDENT_ROW).click();
    const remedy = page.locator('[data-remedy]');
    await remedy.waitFor({ timeout: 5000 });
    expect((await remedy.textContent())?.trim()).toBe(REMEDY);
    await page.locator('.raw-lines').waitFor();
    expect(await page.locator('.raw-lines').textContent()).toContain('[NEW]');
    expect(page.url()).toContain('flow=137932478');
    await shot(page, 'live-detail');
  }, 20_000);
});
