// API Users and Tokens in real Chromium against the real proxy: an API user added in the console (with a
// generated password shown once) on a token-authentication key logs in through the PCR-360 API; its session shows
// in the Tokens grid and in the user's live sessions; deleting it there makes the next call with that token 401.

import { expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { describeBrowser, JOURNEY_TIMEOUT, signIn, useBrowser } from '../helpers/browser.js';
import { adminApi, consoleProxyForSuite, OPS_TOKEN } from '../helpers/console-proxy.js';
import { claimsOf } from '../helpers/jwt.js';
import { pcrCall, pcrLoginRequest } from '../helpers/pcr.js';

const t = consoleProxyForSuite();

describeBrowser('an API user and its session', () => {
  const b = useBrowser();

  it('logs in through the PCR API, shows in Tokens, and is refused once its session is deleted there', async () => {
    const { page } = b;
    await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
    await page.getByRole('navigation', { name: 'Grids' }).getByRole('link', { name: 'API Users' }).click();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('API Users');
    await page.getByRole('link', { name: 'Add user' }).click();
    await page.getByLabel('User (login)').fill('console-user');
    await page.getByLabel('Keys').fill('demo-rw');
    await page.getByRole('button', { name: 'Add user' }).click();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('API user console-user added');
    const password = await page.getByLabel('Password', { exact: true }).inputValue();
    expect(password.length).toBeGreaterThanOrEqual(8);

    const login = await pcrLoginRequest(t.url, SECRETS.rwKey, 'console-user', { password });
    expect(login.status, login.text).toBe(200);
    const token = (login.json as { token: string }).token;
    const sid = String(claimsOf(token)['sid'] ?? '');
    expect((await pcrCall(t.url, SECRETS.rwKey, token)).status).toBe(200);

    await page.getByRole('link', { name: 'Back to the API users' }).click();
    const userRow = page.getByRole('row').filter({ hasText: 'console-user' });
    expect(await userRow.innerText()).toContain('demo-rw');

    await page.getByRole('navigation', { name: 'Grids' }).getByRole('link', { name: 'Tokens' }).click();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Tokens');
    const sessions = page.locator('#sessions');
    const row = sessions.getByRole('row').filter({ hasText: 'console-user' });
    expect(await row.count()).toBe(1);
    expect(await row.innerText()).toContain('demo-rw');
    if (sid !== '') expect(await row.innerText()).toContain(sid);
    await row.getByRole('button', { name: /^Delete session / }).click();
    expect(await page.getByRole('status').first().innerText()).toMatch(/Session .* ended/);
    expect(await page.locator('#sessions').getByRole('row').filter({ hasText: 'console-user' }).count()).toBe(0);

    const refused = await pcrCall(t.url, SECRETS.rwKey, token);
    expect(refused.status).toBe(401);
    const listed = await adminApi(t, 'GET', '/admin/sessions?user=console-user');
    expect(JSON.stringify(listed.json)).not.toContain(token.slice(-16));

    // The user stays until it is deleted too.
    await page.getByRole('navigation', { name: 'Grids' }).getByRole('link', { name: 'API Users' }).click();
    await page.getByRole('link', { name: 'Delete console-user' }).click();
    await page.getByRole('button', { name: 'Delete console-user' }).click();
    expect(await page.getByRole('status').innerText()).toContain('Deleted console-user');
    expect((await adminApi(t, 'GET', '/admin/users/console-user')).status).toBe(404);
  }, JOURNEY_TIMEOUT);
});
