import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, shot, type TestBrowser } from '../support/browser.js';
import { type CtscopeProcess, closeAll, REPO, startSeedServe } from '../support/ctscope-process.js';

// The `blocked` verdict on the page: ctscope serve (fake node tools) on real kube-proxy rules that drop on purpose
// (iptables-save of an externalTrafficPolicy Local LB with no local endpoint, and loadBalancerSourceRanges).
const ENTRIES = [
  'ipv4     2 udp      17 30 src=192.0.2.99 dst=192.0.2.30 sport=40000 dport=7777 [UNREPLIED] src=192.0.2.30 dst=192.0.2.99 sport=7777 dport=40000 id=1001',
  'ipv4     2 udp      17 30 src=10.42.0.33 dst=192.0.2.30 sport=40001 dport=7777 [UNREPLIED] src=192.0.2.30 dst=10.42.0.33 sport=7777 dport=40001 id=1002',
  'ipv4     2 udp      17 30 src=192.0.2.99 dst=192.0.2.40 sport=40002 dport=514 [UNREPLIED] src=192.0.2.40 dst=192.0.2.99 sport=514 dport=40002 id=1003',
];

describe('blocked flows on the page (fake node tools, real kube-proxy rules)', () => {
  let server: CtscopeProcess;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startSeedServe({
        env: (dir) => {
          const events = join(dir, 'blocked-events.txt');
          const list = join(dir, 'blocked-list.txt');
          writeFileSync(events, ENTRIES.map((e, i) => `[179568988${i}.000000]\t    [NEW] ${e}\n`).join(''));
          writeFileSync(list, `${ENTRIES.join('\n')}\n`);
          return {
            FAKE_CT_EVENTS: events,
            FAKE_CT_LIST: list,
            FAKE_IPTABLES_NAT: join(REPO, 'shared', 'test', 'fixtures', 'nat', 'iptables-blocked.txt'),
          };
        },
      }),
      launchBrowser(),
    ]);
    page = await browser.newPage();
  }, 30_000);

  afterAll(() => closeAll(browser, server));

  it('shows blocked rows in their own colour and chip, not in the critical banner', async () => {
    await page.goto(server.url);
    const blocked = page.locator('[data-flow-id="1001"][data-verdict="blocked"]');
    // Generous: on a loaded CI machine the first NAT snapshot and batch can take a while.
    await blocked.waitFor({ timeout: 45_000 });
    expect(await blocked.getAttribute('data-severity')).toBe('ok');
    expect(await blocked.getAttribute('class')).toContain('row-blocked');
    expect(await blocked.locator('.badge').textContent()).toContain('blocked');
    await page.locator('[data-flow-id="1002"][data-verdict="no-dnat"]').waitFor();
    const banner = (await page.locator('.banner-critical').first().textContent()) ?? '';
    expect(banner).toContain('10.42.0.33:40001');
    expect(banner).not.toContain('192.0.2.99');
    // Its own colour: not transparent like an ok row, not the critical red.
    const border = (sel: string) => page.locator(sel).evaluate((el) => getComputedStyle(el).borderLeftColor);
    const blockedColour = await border('[data-flow-id="1001"]');
    expect(blockedColour).not.toBe('rgba(0, 0, 0, 0)');
    expect(blockedColour).not.toBe(await border('[data-flow-id="1002"]'));
    await shot(page, 'blocked-table');

    await page.getByRole('button', { name: 'blocked', exact: true }).click();
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[data-flow-id]')].every(
          (r) => r.getAttribute('data-verdict') === 'blocked',
        ) && document.querySelectorAll('[data-flow-id]').length === 2,
      undefined,
      { timeout: 5000 },
    );
    await shot(page, 'blocked-filtered');
  }, 90_000);

  it('the detail names the rule, offers no command and says where to look', async () => {
    await page.goto(`${server.url}/?flow=1003`);
    const detail = page.locator('[data-blocked]');
    await detail.waitFor({ timeout: 45_000 });
    expect(await page.locator('[data-remedy]').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Delete this entry/ }).count()).toBe(0);
    const reason = (await page.locator('.reason').textContent()) ?? '';
    expect(reason).toContain('source 192.0.2.99 outside loadBalancerSourceRanges');
    expect(reason).toContain('KUBE-FW-OBHEBZQJQXVVFI4L');
    await shot(page, 'blocked-detail');
  }, 90_000);
});
