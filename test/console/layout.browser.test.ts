// Every console grid in real Chromium at 360 px and at desktop width: the page itself never scrolls sideways (a
// wide grid scrolls inside its frame), a screenshot of each is written to test-results/screenshots/; from the
// top of a page Tab reaches the skip link first and then the grid navigation; every form input has a label.

import { expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { describeBrowser, JOURNEY_TIMEOUT, screenshotPath, signIn, useBrowser, type Page, type PageGlobals } from '../helpers/browser.js';
import { adminApi, consoleProxyForSuite, OPS_TOKEN } from '../helpers/console-proxy.js';
import { login } from '../helpers/oauth.js';
import { pcrLogin } from '../helpers/pcr.js';

const t = consoleProxyForSuite();
const GRIDS = ['keys', 'users', 'tokens', 'clients', 'operators', 'audit'];
const FORMS = ['keys/new', 'users/new', 'clients/new', 'operators/new', 'tokens/end-sessions?key=demo-rw'];
const WIDTHS = [
  { name: 'narrow', width: 360, height: 740 },
  { name: 'desktop', width: 1280, height: 900 },
];

/** Rows in every grid, long text included, so the widths are tested with content. */
async function fillGrids(): Promise<void> {
  const long = 'A rather long description that a narrow screen has to wrap somewhere sensible '.repeat(2);
  for (const n of [1, 2, 3]) {
    expect((await adminApi(t, 'POST', '/admin/keys', { id: `layout-key-${n}`, description: long, read: ['servicedesk', 'services'], write: ['snmp'], tokenAuth: true })).status).toBe(201);
  }
  expect((await adminApi(t, 'POST', '/admin/users', { login: 'layout-user', keys: ['layout-key-1'], password: SECRETS.apiUserPassword })).status).toBe(201);
  expect((await adminApi(t, 'POST', '/admin/clients', { id: 'layout-client', description: long, grants: ['password'] })).status).toBe(201);
  expect((await adminApi(t, 'POST', '/admin/operators', { login: 'layout-operator', password: SECRETS.operatorPassword, apiAccess: true, teams: ['service-desk'] })).status).toBe(201);
  await pcrLogin(t.url, SECRETS.rwKey, 'api-user');
  expect((await login(t.url)).status).toBe(200);
}

async function widths(page: Page): Promise<{ page: number; viewport: number; frames: { scroll: number; client: number }[] }> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    const frames: { scrollWidth: number; clientWidth: number }[] = [...document.querySelectorAll('.grid-frame')];
    return {
      page: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
      viewport: document.documentElement.clientWidth,
      frames: frames.map((f) => ({ scroll: f.scrollWidth, client: f.clientWidth })),
    };
  });
}

describeBrowser('the grid pages at 360 px and at desktop width', () => {
  const b = useBrowser();

  it('never scroll sideways as a whole; wide grids scroll inside their frame', async () => {
    await fillGrids();
    for (const size of WIDTHS) {
      const context = await b.newContext({ viewport: { width: size.width, height: size.height } });
      const page = await context.newPage();
      await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
      for (const grid of GRIDS) {
        await page.goto(`${t.proxy.adminUrl}/console/${grid}`);
        const w = await widths(page);
        expect(w.page, `${grid} at ${size.width}px: the page is ${w.page}px wide`).toBeLessThanOrEqual(w.viewport);
        expect(w.frames.length, `${grid}: a grid frame`).toBeGreaterThan(0);
        for (const frame of w.frames) expect(frame.client).toBeLessThanOrEqual(w.viewport);
        if (size.width === 360 && grid === 'keys') expect(w.frames[0]!.scroll, 'the keys grid is wider than a phone').toBeGreaterThan(w.frames[0]!.client);
        await page.screenshot({ path: screenshotPath(size.name === 'desktop' ? grid : `${grid}-360`), fullPage: true });
      }
    }
  }, JOURNEY_TIMEOUT);
});

describeBrowser('keyboard and labels', () => {
  const b = useBrowser();

  it('Tab from the top reaches the skip link first, then the navigation', async () => {
    const { page } = b;
    await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
    for (const grid of GRIDS) {
      await page.goto(`${t.proxy.adminUrl}/console/${grid}`);
      await page.keyboard.press('Tab');
      const first = await page.evaluate(() => ({ text: (globalThis as unknown as PageGlobals).document.activeElement?.textContent?.trim(), href: (globalThis as unknown as PageGlobals).document.activeElement?.getAttribute('href') }));
      expect(first, grid).toEqual({ text: 'Skip to content', href: '#main' });
      expect(await page.locator('a.skip').isVisible(), `${grid}: the focused skip link is visible`).toBe(true);
      await page.keyboard.press('Tab');
      const second = await page.evaluate(() => ({ inNav: (globalThis as unknown as PageGlobals).document.activeElement?.closest('nav[aria-label="Grids"]') !== null, text: (globalThis as unknown as PageGlobals).document.activeElement?.textContent?.trim() }));
      expect(second, grid).toEqual({ inNav: true, text: 'API Keys' });
    }
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id)).toBe('main');
  }, JOURNEY_TIMEOUT);

  it('gives every form input a label', async () => {
    const { page } = b;
    await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
    expect((await adminApi(t, 'POST', '/admin/keys', { id: 'labelled', description: 'x', read: ['servicedesk'], write: [] })).status).toBe(201);
    const pages = [...GRIDS, ...FORMS, 'keys/labelled/edit', 'keys/labelled/delete'];
    let checked = 0;
    for (const path of pages) {
      await page.goto(`${t.proxy.adminUrl}/console/${path}`);
      const inputs = page.locator('main input:not([type="hidden"]), main select, main textarea');
      const count = await inputs.count();
      for (let i = 0; i < count; i++) {
        const input = inputs.nth(i);
        const name = await input.evaluate((el: PageGlobals['document']) => el.getAttribute('aria-label') ?? [...(el.labels ?? [])].map((l: { textContent: string | null }) => l.textContent ?? '').join(' ').trim());
        expect(name, `${path}: input ${await input.evaluate((el) => el.outerHTML)} has no label`).not.toBe('');
        const byLabel = page.getByLabel(name, { exact: true });
        const matches = await byLabel.evaluateAll((els, target) => els.some((el) => el === target), await input.elementHandle());
        expect(matches, `${path}: getByLabel(${JSON.stringify(name)}) does not find its input`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  }, JOURNEY_TIMEOUT);
});
