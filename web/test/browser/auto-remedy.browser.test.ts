import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiFlows,
  type LabHandle,
  labCli,
  labSkipReason,
  randomFreePort,
  startLab,
  stopLab,
  waitFor,
} from '../../../server/test/lab/lab-harness.js';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';

// `ctscope serve --auto-remedy` on the lab, seen through the page: the header says it is on, the timeline marks
// each delete, and the deleted flow's detail names the entry the client's next packet created. Root only.
const skip = labSkipReason();

describe.skipIf(skip !== undefined)(`auto-remedy in the browser${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let lab: LabHandle | undefined;
  let browser: TestBrowser;

  beforeAll(async () => {
    [lab, browser] = await Promise.all([
      startLab({
        name: `ar-page-${process.pid % 100_000}`,
        suspectPollMs: 2000,
        natPollMs: 500,
        autoRemedy: 'on',
        port: await randomFreePort(),
      }),
      launchBrowser(),
    ]);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (lab) await stopLab(lab);
  }, 60_000);

  it("shows auto-remedy on, a marker per delete, and the deleted flow's ok successor", async () => {
    const l = lab!;
    const dns = l.services.find((s) => s.key === 'dns')!;
    const monitor = l.clients.find((c) => c.mode === 'fixed' && c.service === dns.key)!;
    const page = await browser.newPage();
    await page.goto(`${l.url}/?token=${l.token}`);
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    try {
      await page.locator('[data-connection="open"]').waitFor({ timeout: 30_000 });
    } catch (err) {
      await shot(page, 'auto-remedy-not-connected', true).catch(() => undefined);
      const header = await page
        .locator('header')
        .textContent()
        .catch(() => '(no header)');
      throw new Error(`${(err as Error).message}\nheader: ${header}\nconsole: ${consoleLines.join('; ')}`);
    }
    expect(await page.locator('[data-auto-remedy="on"]').textContent()).toContain('ON');

    const t0 = Date.now();
    const step = (what: string) => console.log(`auto-remedy browser: ${what} at +${Date.now() - t0} ms`);
    const auditFile = join(l.stateRoot, l.name, 'data', 'audit.log');
    await labCli(l.name, l.stateRoot, ['restart', '--gap', '3']);
    // Bound (server/test/lab/auto-remedy-e2e.test.ts): deleted ≤ 8 s after the rules return; 25 s for a loaded CI machine.
    try {
      await page
        .locator('.marker-auto-remedy')
        .filter({ hasText: `auto-remedy deleted ${monitor.src}:${monitor.sport}` })
        // Attached, not visible: the marker list may sit below the fold of a busy page.
        .waitFor({ state: 'attached', timeout: 25_000 });
    } catch (err) {
      await shot(page, 'auto-remedy-no-marker', true).catch(() => undefined);
      const markers = await page.locator('.markers, .marker-empty').allTextContents();
      const audit = await readFile(auditFile, 'utf8').catch(() => '');
      throw new Error(`${(err as Error).message}\nmarkers on the page: ${markers}\naudit: ${audit}`);
    }
    step('marker shown');
    // The flow auto-remedy deleted, from its audit line (an earlier entry of the tuple may be gone too).
    const deletedId = await waitFor(
      'the audit line of the delete',
      async () =>
        (await readFile(auditFile, 'utf8'))
          .split('\n')
          .filter((x) => x.includes('"auto-remedy"'))
          .map(
            (x) => JSON.parse(x) as { result: string; flowId: string; orig: { src: string; sport: number } },
          )
          .find((a) => a.result === 'deleted' && a.orig.src === monitor.src && a.orig.sport === monitor.sport)
          ?.flowId,
      5_000,
    );
    const deleted = (await apiFlows(l)).find((f) => f.id === deletedId)!;
    expect(deleted.destroyedAt).toBeDefined();
    // The client's next query (≤ 1 s) creates the successor; open the detail once it exists.
    await waitFor(
      'a new monitor entry after the delete',
      async () =>
        (await apiFlows(l)).find(
          (f) =>
            f.orig.src === monitor.src &&
            f.orig.sport === monitor.sport &&
            f.destroyedAt === undefined &&
            f.firstSeen >= deleted.destroyedAt!,
        ),
      5_000,
    );
    await page.goto(`${l.url}/?token=${l.token}&flow=${deleted.id}`);
    step('successor seen, opening the detail');
    const section = page.locator('[data-auto-remedy-flow]');
    await section.waitFor({ timeout: 20_000 });
    step('detail shown');
    const text = (await section.locator('p').first().textContent()) ?? '';
    expect(text).toMatch(
      /^Deleted automatically at \d\d:\d\d:\d\d; the client's next packet created entry \S+ at \d\d:\d\d:\d\d, which is ok\.$/,
    );
    expect(await section.locator('p').first().getAttribute('data-successor')).not.toBe(deleted.id);
    expect(await page.locator('.raw-lines').textContent()).toMatch(/\[AUTO\] +auto-remedy deleted/);
    await shot(page, 'auto-remedy-detail');
    await page.close();
  }, 180_000);
});
