// The console's sign-in, sign-out and CSRF defences in real Chromium: a wrong admin token is named next to its
// field, a right one lands on API Keys saying who is signed in and with which role, signing out ends the session
// on the server (its cookie replayed afterwards goes back to sign-in), and a POST without the session's CSRF
// token, with a wrong one, or from another origin is refused with 403 and changes nothing.

import { expect, it } from 'vitest';
import { csrfOf, describeBrowser, JOURNEY_TIMEOUT, sessionCookie, signIn, useBrowser, type PageGlobals } from '../helpers/browser.js';
import { adminApi, consoleProxyForSuite, consoleRequest, keyRecord, OPS_TOKEN } from '../helpers/console-proxy.js';

const t = consoleProxyForSuite();

async function newestAuditSeq(): Promise<number> {
  const reply = await adminApi(t, 'GET', '/admin/audit?limit=1');
  expect(reply.status).toBe(200);
  const entries = (reply.json as { entries: { seq: number }[] }).entries;
  return entries[0]?.seq ?? 0;
}

describeBrowser('signing in and out', () => {
  const b = useBrowser();

  it('names a wrong token next to the field, and lands a right one on API Keys with name and role', async () => {
    const { page } = b;
    await page.goto(`${t.proxy.adminUrl}/console/sign-in`);
    const field = page.getByLabel('Admin token');
    await field.fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState('domcontentloaded');
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    const error = page.locator('#e-token');
    expect(await error.textContent()).toContain('That is not a valid admin token.');
    expect(await error.isVisible()).toBe(true);
    expect(await page.getByLabel('Admin token').getAttribute('aria-invalid')).toBe('true');
    expect((await page.getByLabel('Admin token').getAttribute('aria-describedby'))?.split(' ')).toContain('e-token');
    expect((await b.context.cookies()).some((c) => c.name === 'portcullis_console')).toBe(false);

    await page.getByLabel('Admin token').fill(OPS_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/console\/keys$/);
    const who = page.locator('header .who');
    expect(await who.innerText()).toMatch(/Signed in as\s+ops\s+\(manage\)/);
    expect(await page.getByRole('link', { name: 'API Keys' }).getAttribute('aria-current')).toBe('page');
    const cookie = (await b.context.cookies()).find((c) => c.name === 'portcullis_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie as string)).not.toContain('portcullis_console');
  }, JOURNEY_TIMEOUT);

  it('ends the session on the server at sign-out: the old cookie replayed is sent to sign-in', async () => {
    const { page } = b;
    await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
    const old = await sessionCookie(b.context);
    expect((await consoleRequest(t, '/keys', { cookie: old })).status).not.toBe(303);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/sign-in\?signed-out=1$/);
    expect(await page.getByRole('status').innerText()).toContain('You are signed out.');
    expect((await b.context.cookies()).some((c) => c.name === 'portcullis_console')).toBe(false);

    const replay = await consoleRequest(t, '/keys', { cookie: old });
    expect(replay.status).toBe(303);
    expect(replay.location).toBe('/console/sign-in');
    // Even with the cookie put back into the browser, the grids stay closed.
    await b.context.addCookies([{ name: 'portcullis_console', value: old, url: `${t.proxy.adminUrl}/console` }]);
    await page.goto(`${t.proxy.adminUrl}/console/keys`);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
  }, JOURNEY_TIMEOUT);
});

describeBrowser('CSRF and same-origin checks on every POST', () => {
  const b = useBrowser();

  it('refuses a POST without _csrf, with a wrong one, or from another origin, and changes nothing', async () => {
    const { page } = b;
    await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
    const csrf = await csrfOf(page);
    const cookie = await sessionCookie(b.context);
    const before = await newestAuditSeq();
    const fields = { id: 'csrf-probe', description: 'must not exist', read: 'servicedesk' };

    const attempts: { form: Record<string, string>; headers: Record<string, string> }[] = [
      { form: fields, headers: {} },
      { form: { ...fields, _csrf: 'x'.repeat(csrf.length) }, headers: {} },
      { form: { ...fields, _csrf: `${csrf}x` }, headers: {} },
      { form: { ...fields, _csrf: csrf }, headers: { origin: 'http://evil.example' } },
      { form: { ...fields, _csrf: csrf }, headers: { 'sec-fetch-site': 'cross-site' } },
    ];
    for (const attempt of attempts) {
      const reply = await page.request.post(`${t.proxy.adminUrl}/console/keys`, { form: attempt.form, headers: attempt.headers, maxRedirects: 0 });
      expect(reply.status(), JSON.stringify(attempt)).toBe(403);
      const plain = await consoleRequest(t, '/keys', { cookie, form: attempt.form, headers: attempt.headers });
      expect(plain.status, JSON.stringify(attempt)).toBe(403);
    }
    // Sign-out is a POST as well: a forged one does not end the session.
    const forgedOut = await consoleRequest(t, '/sign-out', { cookie, form: {}, headers: {} });
    expect(forgedOut.status).toBe(403);
    const foreignOut = await consoleRequest(t, '/sign-out', { cookie, form: { _csrf: csrf }, headers: { origin: 'http://evil.example' } });
    expect(foreignOut.status).toBe(403);

    expect(await keyRecord(t, 'csrf-probe')).toBeNull();
    expect(await newestAuditSeq()).toBe(before);
    await page.reload();
    expect(await page.locator('header .who').innerText()).toMatch(/Signed in as\s+ops/);
  }, JOURNEY_TIMEOUT);

  it('refuses a real form whose _csrf was removed or changed', async () => {
    const { page } = b;
    await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
    const before = await newestAuditSeq();
    for (const tamper of ['remove', 'change'] as const) {
      await page.goto(`${t.proxy.adminUrl}/console/keys`);
      await page.evaluate((how) => {
        for (const input of (globalThis as unknown as PageGlobals).document.querySelectorAll('form input[name="_csrf"]')) {
          if (how === 'remove') input.remove();
          else input.value = 'forged-csrf-token-forged-csrf-to';
        }
      }, tamper);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForLoadState('domcontentloaded');
      expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Not allowed');
      expect(await page.getByRole('alert').innerText()).toContain('CSRF');
    }
    expect(await newestAuditSeq()).toBe(before);
    await page.goto(`${t.proxy.adminUrl}/console/keys`);
    expect(new URL(page.url()).pathname).toBe('/console/keys');
  }, JOURNEY_TIMEOUT);
});
