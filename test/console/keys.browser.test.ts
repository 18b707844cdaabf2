// The API Keys page in real Chromium against the real proxy: a key added in the form is shown once with a Copy
// button and works on the public listener; unticking Read in its grid row and saving makes the next call 403;
// deleting it names the live sessions it ends and makes the next call 401. Descriptions that look like markup
// show as text in the grid and the edit form and never run. Two admins editing one key: the second save is
// refused as stale and keeps what was typed.

import { expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { describeBrowser, JOURNEY_TIMEOUT, signIn, useBrowser, type Page, type PageGlobals } from '../helpers/browser.js';
import { adminApi, consoleProxyForSuite, keyRecord, OPS_TOKEN } from '../helpers/console-proxy.js';
import { send } from '../helpers/http.js';
import { pcrCall, pcrLogin } from '../helpers/pcr.js';

const t = consoleProxyForSuite();
const SCRIPT = '<script>window.__xss=1</script>';
const IMG = '"><img src=x onerror=window.__xss=2>';

async function createKey(id: string, description: string): Promise<void> {
  const reply = await adminApi(t, 'POST', '/admin/keys', { id, description, read: ['servicedesk'], write: [] });
  expect(reply.status, reply.text).toBe(201);
}

async function expectNoInjection(page: Page): Promise<void> {
  expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).window.__xss)).toBeUndefined();
  expect(await page.locator('main script, main img, body > img').count()).toBe(0);
}

describeBrowser('an API key added, restricted and deleted in the console', () => {
  const b = useBrowser();

  it('works on the public listener until Read is unticked (403) and it is deleted (401)', async () => {
    const { page, context } = b;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.proxy.adminUrl });
    await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
    await page.getByRole('link', { name: 'Add key' }).click();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Add an API key');
    await page.getByLabel('Id', { exact: true }).fill('journey-key');
    await page.getByLabel('Description').fill('Added by the browser journey');
    await page.getByRole('group', { name: 'Read' }).getByLabel('servicedesk').check();
    await page.getByLabel(/^Token authentication/).check();
    await page.getByRole('button', { name: 'Add key' }).click();

    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('API key journey-key added');
    const key = await page.getByLabel('API key', { exact: true }).inputValue();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const copy = page.getByRole('button', { name: 'Copy' });
    expect(await copy.isVisible()).toBe(true);
    await copy.click();
    await expect.poll(() => page.locator('#copy-status').textContent()).toBe('Copied.');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).navigator.clipboard.readText())).toBe(key);

    const user = await adminApi(t, 'POST', '/admin/users', { login: 'journey-user', keys: ['journey-key'], password: SECRETS.apiUserPassword });
    expect(user.status, user.text).toBe(201);
    const token = await pcrLogin(t.url, key, 'journey-user');
    expect((await pcrCall(t.url, key, token)).status).toBe(200);

    await page.getByRole('link', { name: 'Back to the API keys' }).click();
    const read = page.getByLabel('Read servicedesk of journey-key');
    expect(await read.isChecked()).toBe(true);
    await read.uncheck();
    await page.getByRole('button', { name: 'Save permissions of journey-key' }).click();
    expect(await page.getByRole('status').innerText()).toContain('Saved journey-key.');
    expect(await page.getByLabel('Read servicedesk of journey-key').isChecked()).toBe(false);
    expect((await keyRecord(t, 'journey-key'))?.['read']).toEqual([]);
    expect((await pcrCall(t.url, key, token)).status).toBe(403);

    await page.getByRole('link', { name: 'Delete journey-key' }).click();
    expect(await page.getByRole('main').innerText()).toContain('This ends its 1 live session at once.');
    await page.getByRole('button', { name: 'Delete journey-key' }).click();
    expect(await page.getByRole('status').innerText()).toContain('Deleted journey-key; 1 session ended.');
    expect(await keyRecord(t, 'journey-key')).toBeNull();
    expect((await pcrCall(t.url, key, token)).status).toBe(401);
    expect((await send(`${t.url}/api/${key}/servicedesk.json`)).status).toBe(401);
    await adminApi(t, 'DELETE', '/admin/users/journey-user');
  }, JOURNEY_TIMEOUT);
});

describeBrowser('descriptions that look like markup', () => {
  const b = useBrowser();

  it('show as text in the grid and the edit form, and never run', async () => {
    await createKey('xss-script', SCRIPT);
    await createKey('xss-img', IMG);
    const { page } = b;
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
    await page.goto(`${t.proxy.adminUrl}/console/keys?q=xss`);
    for (const text of [SCRIPT, IMG]) expect(await page.getByRole('cell', { name: text, exact: true }).isVisible()).toBe(true);
    await expectNoInjection(page);

    for (const [id, text] of [['xss-script', SCRIPT], ['xss-img', IMG]] as const) {
      await page.getByRole('link', { name: `Edit ${id}` }).click();
      expect(await page.getByLabel('Description').inputValue()).toBe(text);
      await expectNoInjection(page);
      await page.goBack();
    }

    // Typed into the form, refused for another field, and drawn again with what was typed.
    await page.goto(`${t.proxy.adminUrl}/console/keys/new`);
    await page.getByLabel('Id', { exact: true }).fill('Not A Valid Id');
    await page.getByLabel('Description').fill(IMG);
    await page.getByRole('button', { name: 'Add key' }).click();
    expect(await page.locator('#e-id').isVisible()).toBe(true);
    expect(await page.getByLabel('Description').inputValue()).toBe(IMG);
    await expectNoInjection(page);
    expect(dialogs).toEqual([]);
  }, JOURNEY_TIMEOUT);
});

describeBrowser('two admins editing one key', () => {
  const b = useBrowser();

  it('refuses the second save as stale, says so, and keeps what was typed', async () => {
    await createKey('contended', 'as created');
    await signIn(b.page, t.proxy.adminUrl, OPS_TOKEN);
    const first = b.page;
    const second = await b.context.newPage();
    const edit = `${t.proxy.adminUrl}/console/keys/contended/edit`;
    await first.goto(edit);
    await second.goto(edit);

    await first.getByLabel('Description').fill('saved first');
    await first.getByRole('button', { name: 'Save key' }).click();
    expect(await first.getByRole('status').innerText()).toContain('Saved contended.');

    await second.getByLabel('Description').fill('typed second');
    const [answer] = await Promise.all([second.waitForResponse((r) => r.request().method() === 'POST'), second.getByRole('button', { name: 'Save key' }).click()]);
    expect(answer.status()).toBe(412);
    expect(await second.getByRole('alert').first().innerText()).toContain('Someone else changed this key since you opened it');
    expect(await second.getByLabel('Description').inputValue()).toBe('typed second');
    expect((await keyRecord(t, 'contended'))?.['description']).toBe('saved first');

    // The same in the grid: two pages save the row's permissions from the same version.
    const grid = `${t.proxy.adminUrl}/console/keys?q=contended`;
    await first.goto(grid);
    await second.goto(grid);
    await first.getByLabel('Write servicedesk of contended').check();
    await first.getByRole('button', { name: 'Save permissions of contended' }).click();
    expect(await first.getByRole('status').innerText()).toContain('Saved contended.');
    await second.getByLabel('Read services of contended').check();
    await second.getByRole('button', { name: 'Save permissions of contended' }).click();
    expect(await second.getByRole('alert').first().innerText()).toContain('Someone else changed the key contended');
    expect(await keyRecord(t, 'contended')).toMatchObject({ read: ['servicedesk'], write: ['servicedesk'] });
  }, JOURNEY_TIMEOUT);
});
