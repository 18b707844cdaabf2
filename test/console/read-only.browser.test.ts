// A `read` admin token in real Chromium: it sees every grid, with no Add, Edit, Delete, Save, End or Revoke
// control and the key grid's checkboxes disabled, and its forged POSTs — with its cookie and a valid _csrf taken
// from the page — are 403 and change nothing (records, versions and the audit trail stay as they were).

import { expect, it } from 'vitest';
import { csrfOf, describeBrowser, JOURNEY_TIMEOUT, signIn, useBrowser } from '../helpers/browser.js';
import { adminApi, consoleProxyForSuite, keyRecord, VIEWER_TOKEN } from '../helpers/console-proxy.js';
import { pcrLogin } from '../helpers/pcr.js';
import { SECRETS } from '../fixtures/secrets.js';

const t = consoleProxyForSuite();
const GRIDS = ['keys', 'users', 'tokens', 'clients', 'operators', 'audit'];
const CHANGING = /^(Add|Edit|Delete|Save|End|Revoke|Force)\b/;

async function newestAuditSeq(): Promise<number> {
  const reply = await adminApi(t, 'GET', '/admin/audit?limit=1');
  expect(reply.status, reply.text).toBe(200);
  return (reply.json as { entries: { seq: number }[] }).entries[0]?.seq ?? 0;
}

describeBrowser('a read-only console session', () => {
  const b = useBrowser();

  it('shows every grid without a control that changes anything', async () => {
    expect((await adminApi(t, 'POST', '/admin/keys', { id: 'ro-visible', description: 'seen by the viewer', read: ['servicedesk'], write: [] })).status).toBe(201);
    await pcrLogin(t.url, SECRETS.rwKey, 'api-user');
    const { page } = b;
    await signIn(page, t.proxy.adminUrl, VIEWER_TOKEN);
    expect(await page.locator('header .who').innerText()).toMatch(/Signed in as\s+viewer\s+\(read only\)/);
    for (const grid of GRIDS) {
      await page.goto(`${t.proxy.adminUrl}/console/${grid}`);
      expect(await page.getByRole('heading', { level: 1 }).count(), grid).toBe(1);
      const main = page.getByRole('main');
      expect(await main.getByRole('button', { name: CHANGING }).count(), `${grid}: buttons`).toBe(0);
      expect(await main.getByRole('link', { name: CHANGING }).count(), `${grid}: links`).toBe(0);
      expect(await main.locator('form[method="post" i]').count(), `${grid}: POST forms`).toBe(0);
      expect(await main.locator('input[type="checkbox"]:not([disabled])').count(), `${grid}: checkboxes`).toBe(0);
    }
    await page.goto(`${t.proxy.adminUrl}/console/keys?q=ro-visible`);
    expect(await page.getByRole('cell', { name: 'seen by the viewer' }).isVisible()).toBe(true);
    expect(await page.getByLabel('Read servicedesk of ro-visible').isDisabled()).toBe(true);
    await page.goto(`${t.proxy.adminUrl}/console/tokens`);
    expect(await page.locator('#sessions').getByRole('row').filter({ hasText: 'api-user' }).count()).toBeGreaterThan(0);
    for (const form of ['keys/new', 'users/new', 'clients/new', 'operators/new', 'keys/ro-visible/edit', 'keys/ro-visible/delete']) {
      const answer = await page.goto(`${t.proxy.adminUrl}/console/${form}`);
      expect(answer?.status(), form).toBe(403);
      expect(await page.getByRole('alert').innerText()).toContain('may only read');
    }
  }, JOURNEY_TIMEOUT);

  it('refuses forged POSTs with a valid _csrf, and nothing changes', async () => {
    expect((await adminApi(t, 'POST', '/admin/keys', { id: 'ro-target', description: 'must stay', read: ['servicedesk'], write: [] })).status).toBe(201);
    await pcrLogin(t.url, SECRETS.rwKey, 'api-user');
    const { page } = b;
    await signIn(page, t.proxy.adminUrl, VIEWER_TOKEN);
    const csrf = await csrfOf(page);
    const before = { key: await keyRecord(t, 'ro-target'), audit: await newestAuditSeq(), sessions: (await adminApi(t, 'GET', '/admin/sessions')).text };
    const sessionId = ((await adminApi(t, 'GET', '/admin/sessions?user=api-user')).json as { sessions?: { id: string }[] }).sessions?.[0]?.id ?? 'none';

    const forged: [string, Record<string, string>][] = [
      ['/console/keys', { _csrf: csrf, id: 'forged-key', read: 'servicedesk' }],
      ['/console/keys/ro-target', { _csrf: csrf, version: '1', description: 'changed' }],
      ['/console/keys/ro-target/permissions', { _csrf: csrf, version: '1' }],
      ['/console/keys/ro-target/delete', { _csrf: csrf, version: '1', force: 'true' }],
      ['/console/users', { _csrf: csrf, login: 'forged-user', keys: 'demo-rw' }],
      ['/console/clients/new', { _csrf: csrf, id: 'forged-client' }],
      ['/console/operators/new', { _csrf: csrf, login: 'forged-operator' }],
      [`/console/tokens/sessions/${encodeURIComponent(sessionId)}/delete`, { _csrf: csrf }],
      ['/console/tokens/end-sessions', { _csrf: csrf, key: 'demo-rw' }],
    ];
    for (const [path, form] of forged) {
      const reply = await page.request.post(t.proxy.adminUrl + path, { form, maxRedirects: 0 });
      expect(reply.status(), path).toBe(403);
      expect(await reply.text(), path).toContain('may only read');
    }
    // The same from inside the page, as a script the viewer ran would send it.
    const fromPage = await page.evaluate(async (body) => (await fetch('/console/keys', { method: 'POST', body: new URLSearchParams(body), redirect: 'manual' })).status, { _csrf: csrf, id: 'forged-fetch', read: 'servicedesk' });
    expect(fromPage).toBe(403);

    expect(await keyRecord(t, 'ro-target')).toEqual(before.key);
    for (const id of ['forged-key', 'forged-fetch']) expect(await keyRecord(t, id)).toBeNull();
    expect((await adminApi(t, 'GET', '/admin/users/forged-user')).status).toBe(404);
    expect((await adminApi(t, 'GET', '/admin/clients/forged-client')).status).toBe(404);
    expect((await adminApi(t, 'GET', '/admin/operators/forged-operator')).status).toBe(404);
    expect(await newestAuditSeq()).toBe(before.audit);
    expect((await adminApi(t, 'GET', '/admin/sessions')).text).toBe(before.sessions);
  }, JOURNEY_TIMEOUT);
});
