import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, closeAll, startSeedServe } from '../support/ctscope-process.js';

const REMEDY = 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53';
// A row, not the alert toast that names the same flow.
const INCIDENT_ROW = 'tr[data-flow-id="137932478"]';

describe('dashboard against ctscope serve (seed incident, fake node tools)', () => {
  let server: CtscopeProcess;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startSeedServe(), launchBrowser()]);
    page = await browser.newPage();
  }, 30_000);

  afterAll(() => closeAll(browser, server));

  it('highlights the seed incident row with the marked reply source and the expected endpoint', async () => {
    await page.goto(server.url);
    const row = page.locator(INCIDENT_ROW);
    // The row may first show before the first NAT snapshot is in (then it is not yet a service flow).
    await page.locator(`${INCIDENT_ROW}[data-verdict="no-dnat"]`).waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-verdict')).toBe('no-dnat');
    const bad = row.locator('[data-bad="reply.src"]');
    expect(await bad.textContent()).toContain('10.43.0.10');
    expect(await row.textContent()).toContain('expected 172.20.112.199:53');
    expect(await row.textContent()).toContain('10.42.0.33:52001');
    // Kept alive needs two suspect polls (2 s apart).
    await row.locator('.kept').waitFor({ timeout: 12_000 });
    await page.locator('[data-connection="open"]').waitFor();
    // The sources strip says how the event listener is scheduled (root may use SCHED_FIFO).
    const priority = page.locator('.source [data-listener-priority]');
    await priority.waitFor();
    const mode = await priority.getAttribute('data-listener-priority');
    expect(mode).toBe(process.getuid?.() === 0 ? 'fifo' : 'default');
    expect(await priority.textContent()).toContain(mode === 'fifo' ? 'FIFO' : 'not prioritised');
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
    // This server was started without --allow-delete: no delete button.
    expect(await page.getByRole('button', { name: /Delete this entry/ }).count()).toBe(0);
    await shot(page, 'live-detail');
  }, 20_000);

  it('zooms by dragging across the chart, returns to live with 0, and moves through flows with j/k', async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('1');
    expect(page.url()).toContain('win=1m');
    const chart = page.locator('.timeline .chart');
    const box = (await chart.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => page.url()).toMatch(/[?&]from=\d+&to=\d+/);
    expect(await page.getByRole('button', { name: 'live', exact: true }).getAttribute('aria-pressed')).toBe(
      'false',
    );
    await page.keyboard.press('0');
    await expect.poll(() => page.url()).not.toMatch(/[?&]from=/);
    await page.keyboard.press('j');
    await expect.poll(() => new URL(page.url()).searchParams.get('flow')).toBe('137932478');
    await page.keyboard.press('j');
    await expect.poll(() => new URL(page.url()).searchParams.get('flow')).not.toBe('137932478');
    await page.keyboard.press('k');
    await expect.poll(() => new URL(page.url()).searchParams.get('flow')).toBe('137932478');
    await page.keyboard.press('Escape');
    await page.keyboard.press('3');
  }, 20_000);

  it('shows services with their endpoints, bad-flow counts and the rule-gap history', async () => {
    await page.getByRole('tab', { name: 'Services' }).click();
    const row = page.locator('[data-frontend="udp|10.43.0.10|53"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('172.20.112.199:53');
    expect(await row.textContent()).toMatch(/3\s+\(3 no DNAT; 1 kept alive\)/);
    const history = page.getByRole('region', { name: 'NAT change history' });
    await history.getByText('rules removed').first().waitFor();
    expect(await history.textContent()).toContain('rules added');
    await shot(page, 'live-services');
    await page.keyboard.press('v');
    await page.locator(INCIDENT_ROW).waitFor();
  }, 20_000);

  it('keeps filters in the URL, so a shared link opens the same view (light theme)', async () => {
    const link = `${server.url}/?verdict=no-dnat&port=52001&theme=light&flow=137932478&win=5m`;
    const other = await browser.newPage();
    await other.goto(link);
    await other.locator(INCIDENT_ROW).waitFor({ timeout: 10_000 });
    expect(await other.locator('tr[data-flow-id]').count()).toBe(1);
    expect(await other.locator('html').getAttribute('data-theme')).toBe('light');
    expect(await other.getByRole('button', { name: '5m', exact: true }).getAttribute('aria-pressed')).toBe(
      'true',
    );
    await other.locator('[data-remedy]').waitFor();
    await shot(other, 'live-light-filtered');
    // The help overlay documents the shortcuts.
    await other.keyboard.press('?');
    await other.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await shot(other, 'help-overlay');
    await other.close();
  }, 20_000);

  it('wall mode shows the red banner naming the critical flows and services', async () => {
    const wall = await browser.newPage({ width: 1920, height: 1080 });
    await wall.goto(`${server.url}/?kiosk=1`);
    const banner = wall.locator('.banner-critical[data-critical-count]');
    await banner.waitFor({ timeout: 10_000 });
    expect(Number(await banner.getAttribute('data-critical-count'))).toBeGreaterThanOrEqual(1);
    expect(await banner.textContent()).toContain('kube-system/kube-dns:dns');
    expect(await banner.textContent()).toContain('10.42.0.33:52001');
    await wall.getByRole('group', { name: 'Critical flows now' }).getByText('3').waitFor();
    await shot(wall, 'kiosk');
    await wall.close();
  }, 20_000);

  it('replays one of the server recordings in the browser, then goes back to the live stream', async () => {
    await page.keyboard.press('o');
    const dialog = page.getByRole('dialog', { name: 'Open a recording' });
    await dialog.getByRole('button', { name: 'Replay' }).first().click();
    await page.locator('[data-connection="local"]').waitFor({ timeout: 10_000 });
    expect(page.url()).toMatch(/[?&]rec=ctscope-[^&]+\.ndjson/);
    await page.locator(INCIDENT_ROW).waitFor({ timeout: 10_000 });
    expect(await page.locator(INCIDENT_ROW).getAttribute('data-verdict')).toBe('no-dnat');
    await page.getByRole('button', { name: 'Back to the server' }).click();
    await page.locator('[data-connection="open"]').waitFor({ timeout: 10_000 });
    expect(page.url()).not.toMatch(/[?&]rec=/);
    await page.locator(INCIDENT_ROW).waitFor({ timeout: 10_000 });
  }, 30_000);

  it('reconnects by itself after the server dies, and resumes', async () => {
    const wall = await browser.newPage({ width: 1920, height: 1080 });
    await wall.goto(`${server.url}/?kiosk=1`);
    await wall.locator('[data-connection="open"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-connection="open"]').waitFor();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));

    const port = server.port;
    await server.kill();
    server.cleanup();
    await page.locator('[data-connection="reconnecting"]').waitFor({ timeout: 10_000 });
    await wall.locator('.banner-stale').waitFor({ timeout: 10_000 });
    await shot(page, 'reconnecting');
    await shot(wall, 'kiosk-reconnecting');

    server = await startSeedServe({ port });
    await page.locator('[data-connection="open"]').waitFor({ timeout: 20_000 });
    await wall.locator('[data-connection="open"]').waitFor({ timeout: 20_000 });
    await page.locator(INCIDENT_ROW).waitFor({ timeout: 15_000 });
    await wall.locator('.banner-critical[data-critical-count]').waitFor({ timeout: 15_000 });
    // Reconnects ask to resume from the last sequence number they held.
    expect(sockets.some((u) => /[?&]resume=\d+/.test(u))).toBe(true);
    await wall.close();
  }, 60_000);
});
