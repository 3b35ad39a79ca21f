import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiDelete, apiFlows, labCli, waitFor } from '../../../server/test/lab/lab-harness.js';
import {
  type Cluster,
  prometheusSkipReason,
  startCluster,
  stopCluster,
} from '../../../server/test/prometheus/prometheus-harness.js';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, startFleet } from '../support/ctscope-process.js';

// The fleet wall against a real Prometheus scraping two lab nodes (root only): the broken node comes first and red,
// a tile opens the node's page, Prometheus going silent is shown with the last data kept, kiosk never pauses.
const skip = prometheusSkipReason();

/** Pretend the tab was hidden (Chromium headless never hides it by itself). */
async function hide(page: Page): Promise<void> {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

/** Requests the page makes to /api/fleet during `ms`. */
async function fleetRequests(page: Page, ms: number): Promise<number> {
  let n = 0;
  const on = (r: { url: () => string }) => {
    if (r.url().includes('/api/fleet')) n++;
  };
  page.on('request', on);
  await page.waitForTimeout(ms);
  page.off('request', on);
  return n;
}

describe.skipIf(skip !== undefined)(
  `fleet wall on a real Prometheus${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let cluster: Cluster | undefined;
    let fleet: CtscopeProcess | undefined;
    let browser: TestBrowser;

    beforeAll(async () => {
      [cluster, browser] = await Promise.all([
        startCluster({ scrapeMs: 1000, evalMs: 1000 }),
        launchBrowser(),
      ]);
      fleet = await startFleet(cluster.prometheus.url, [
        '--refresh',
        '1000',
        '--timeout',
        '2500',
        '--timeline-minutes',
        '5',
      ]);
    }, 150_000);

    afterAll(async () => {
      await browser?.close();
      await fleet?.stop();
      fleet?.cleanup();
      await stopCluster(cluster);
    }, 90_000);

    // KNOWN FAILING in the merged tree (tiles never reach status ok); passed on its own branch. See README Limits.
    it('shows both nodes; after a restart on one, it comes first, red, and opens that node page', async () => {
      const [broken, healthy] = cluster!.labs;
      const page = await browser.newPage({ width: 1600, height: 900 });
      await page.goto(`${fleet!.url}/?kiosk=1`);
      for (const l of [broken, healthy])
        await page.locator(`[data-node="${l.node}"][data-status="ok"]`).waitFor({ timeout: 20_000 });
      expect(await page.locator('[data-node]').count()).toBe(2);
      expect(await page.locator(`[data-node="${broken.node}"]`).getAttribute('href')).toBe(`${broken.url}/`);

      await labCli(broken.name, broken.stateRoot, ['restart', '--gap', '3']);
      const tile = page.locator(`[data-node="${broken.node}"][data-status="critical"]`);
      await tile.waitFor({ timeout: 20_000 });
      // Worst first, unmistakable: the first tile, solid red, its count in large type, the page title says so.
      expect(await page.locator('[data-node]').first().getAttribute('data-node')).toBe(broken.node);
      expect(await page.locator(`[data-node="${healthy.node}"]`).getAttribute('data-status')).toBe('ok');
      const style = await tile.evaluate((el) => {
        const s = getComputedStyle(el);
        const big = el.querySelector('.fleet-tile-big');
        return { bg: s.backgroundColor, big: big ? Number.parseFloat(getComputedStyle(big).fontSize) : 0 };
      });
      expect(style.bg).toBe('rgb(179, 22, 27)');
      expect(style.big).toBeGreaterThanOrEqual(40);
      expect(await page.title()).toMatch(/^✖ 1 critical/);
      await expect
        .poll(async () => Number(await page.locator('.fleet-timeline').getAttribute('data-points')), {
          timeout: 10_000,
        })
        .toBeGreaterThan(3);
      expect(await page.locator('.fleet-timeline .recharts-legend-item-text').allTextContents()).toEqual([
        broken.node,
        healthy.node,
      ]);
      await page.waitForTimeout(1500);
      await shot(page, 'fleet-critical');

      const [popup] = await Promise.all([browser.context.waitForEvent('page'), tile.click()]);
      expect(popup.url().startsWith(`${broken.url}/`)).toBe(true);
      await popup.close();
      await page.close();
    }, 90_000);

    // KNOWN FAILING in the merged tree, as above. See README Limits.
    it('shows Prometheus down with the last data kept, and recovers', async () => {
      const [broken] = cluster!.labs;
      const page = await browser.newPage({ width: 1600, height: 900 });
      await page.goto(`${fleet!.url}/?kiosk=1`);
      await page.locator(`[data-node="${broken.node}"][data-status="critical"]`).waitFor({ timeout: 20_000 });
      const pid = cluster!.prometheus.pid;
      process.kill(pid, 'SIGSTOP'); // Prometheus stops answering without closing its socket: the slowest failure.
      try {
        const banner = page.locator('[data-source-state="prometheus-down"]');
        await banner.waitFor({ timeout: 15_000 });
        expect(await banner.textContent()).toMatch(
          /Prometheus down: no answer \(timeout\).*showing data from \d+ s ago/,
        );
        expect(await page.locator(`[data-node="${broken.node}"]`).getAttribute('data-status')).toBe(
          'critical',
        );
        expect(await page.locator('[data-node]').count()).toBe(2);
        await shot(page, 'fleet-prometheus-down');
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await page.locator('[data-source-state="ok"]').waitFor({ timeout: 15_000 });
      await page.close();
    }, 60_000);

    it('kiosk keeps polling while hidden; the normal page pauses', async () => {
      const kiosk = await browser.newPage();
      await kiosk.goto(`${fleet!.url}/?kiosk=1`);
      await kiosk.locator('[data-source-state="ok"]').waitFor({ timeout: 15_000 });
      await hide(kiosk);
      expect(await fleetRequests(kiosk, 3500)).toBeGreaterThanOrEqual(2);

      const normal = await browser.newPage();
      await normal.goto(`${fleet!.url}/`);
      await normal.locator('[data-source-state="ok"]').waitFor({ timeout: 15_000 });
      await hide(normal);
      await normal.locator('[data-source-state="paused"]').waitFor({ timeout: 5000 });
      expect(await fleetRequests(normal, 3500)).toBe(0);
      await kiosk.close();
      await normal.close();
    }, 60_000);

    it('turns the node back to ok after the remedy', async () => {
      const [broken] = cluster!.labs;
      const page = await browser.newPage();
      await page.goto(`${fleet!.url}/`);
      await waitFor(
        'no live critical flow left',
        async () => {
          const live = (await apiFlows(broken, 'severity=critical')).filter(
            (f) => f.destroyedAt === undefined,
          );
          for (const f of live) await apiDelete(broken, f.id);
          return live.length === 0 ? true : undefined;
        },
        15_000,
        300,
      );
      await page
        .locator(`[data-node="${broken.node}"]:not([data-status="critical"])`)
        .waitFor({ timeout: 15_000 });
      expect(await page.locator('[data-status="critical"]').count()).toBe(0);
      await page.close();
    }, 60_000);
  },
);
