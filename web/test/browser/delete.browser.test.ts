import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, closeAll, startSeedServe } from '../support/ctscope-process.js';

const TOKEN = 'web-test-token-0123456789';

describe('token and guarded delete (ctscope serve --token --allow-delete)', () => {
  let server: CtscopeProcess;
  let browser: TestBrowser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startSeedServe({ extraArgs: ['--token', TOKEN, '--allow-delete'] }),
      launchBrowser(),
    ]);
  }, 30_000);

  afterAll(() => closeAll(browser, server));

  it('without the token the page cannot connect; with ?token= it can', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.locator('[data-connection="reconnecting"]').waitFor({ timeout: 10_000 });
    await page.goto(`${server.url}/?token=${TOKEN}`);
    await page.locator('[data-connection="open"]').waitFor({ timeout: 10_000 });
    await page.locator('tr[data-flow-id="137932478"]').waitFor({ timeout: 15_000 });
    await page.close();
  }, 30_000);

  it('deletes the entry after confirmation, running exactly the remedy', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/?token=${TOKEN}&flow=137932478`);
    const del = page.getByRole('button', { name: /Delete this entry/ });
    await del.waitFor({ timeout: 15_000 });
    await del.click();
    const dialog = page.getByRole('dialog', { name: 'Delete this conntrack entry?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('--sport 52001 --dport 53');
    await shot(page, 'delete-confirm');
    // Cancelling does nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await del.click();
    await dialog.getByRole('button', { name: 'Delete entry' }).click();
    const outcome = page.getByRole('status').filter({ hasText: /deleted/ });
    await outcome.waitFor({ timeout: 10_000 });
    expect(await outcome.textContent()).toMatch(/✓/);
    await page.close();
  }, 30_000);
});
