// The console's API Users page over plain HTTP: adding a user (a generated password shown once, a chosen one
// never), problems next to their fields with the typed values kept (but not the password), editing only the
// session expiration date with If-Match, deleting a user after naming its live sessions, config users left
// alone, a read session without controls, and logins escaped.

import { beforeAll, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { signInToConsole, type ConsoleClient } from '../helpers/console-http.js';
import { adminApi, consoleProxyForSuite, OPS_TOKEN, VIEWER_TOKEN } from '../helpers/console-proxy.js';

const t = consoleProxyForSuite();

describe('the API Users page', () => {
  let ops: ConsoleClient;
  let viewer: ConsoleClient;
  beforeAll(async () => {
    ops = await signInToConsole(t.proxy.adminUrl, OPS_TOKEN);
    viewer = await signInToConsole(t.proxy.adminUrl, VIEWER_TOKEN);
  });

  it('adds a user with a generated password, shown once, and lists it', async () => {
    const added = await ops.postFields('/console/users?sort=login&order=asc', [
      ['login', 'export-bot'],
      ['keys', 'demo-rw, short'],
      ['password', ''],
      ['sessionExpiresAt', '2027-06-30'],
    ]);
    expect(added.status).toBe(201);
    const password = /id="new-password" type="text" readonly value="([^"]+)"/.exec(added.text)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(added.text).toContain('data-copy="new-password"');
    expect(added.text).toContain('will not be shown again');
    expect(added.text).toContain('<a href="/console/users?sort=login&amp;order=asc">Back to the API users</a>');
    expect((await adminApi(t, 'GET', '/admin/users/export-bot')).json).toMatchObject({ keys: ['demo-rw', 'short'], sessionExpiresAt: '2027-07-01T00:00:00.000Z', version: 1 });

    const grid = await ops.get('/console/users?q=export');
    expect(grid.text).toContain('<td class="text">demo-rw, short</td>');
    expect(grid.text).toContain('<td>2027-06-30</td>');
    expect(grid.text).toContain('aria-label="Edit export-bot"');
    expect(grid.text).not.toContain(password!);
  });

  it('never shows a password the admin chose, and escapes the login', async () => {
    const added = await ops.postFields('/console/users', [
      ['login', '<script>x</script>'],
      ['keys', 'demo-ro'],
      ['password', 'a long password'],
    ]);
    expect(added.status).toBe(303);
    const grid = await ops.get(added.location!);
    expect(grid.text).toContain('Added &lt;script&gt;x&lt;/script&gt;.');
    expect(grid.text).not.toContain('<script>x');
    expect(grid.text).not.toContain('a long password');
    expect(grid.text).toContain('href="/console/users/%3Cscript%3Ex%3C%2Fscript%3E/edit');
  });

  it('keeps what was typed (not the password) and puts each problem next to its field', async () => {
    const answer = await ops.postFields('/console/users', [
      ['login', 'bot 1'],
      ['keys', 'demo-rw, nope'],
      ['password', 'short'],
      ['sessionExpiresAt', '2027-06-30'],
    ]);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('<p class="field-error" id="e-login">expected printable ASCII without spaces</p>');
    expect(answer.text).toContain('<p class="field-error" id="e-keys">unknown API key id &quot;nope&quot;</p>');
    expect(answer.text).toContain('<p class="field-error" id="e-password">expected at least 8 characters</p>');
    expect(answer.text).toContain('value="bot 1"');
    expect(answer.text).toContain('value="demo-rw, nope"');
    expect(answer.text).toContain('value="2027-06-30"');
    expect(answer.text).not.toContain('value="short"');
  });

  it('edits the session expiration date only, with If-Match', async () => {
    const form = await ops.get('/console/users/export-bot/edit');
    expect(form.text).toContain('name="version" value="1"');
    expect(form.text).toMatch(/id="f-sessionExpiresAt" name="sessionExpiresAt" type="date" value="2027-06-30"/);
    expect(form.text).not.toContain('name="keys"');
    const cleared = await ops.postFields('/console/users/export-bot', [['version', '1'], ['sessionExpiresAt', '']]);
    expect(cleared.status).toBe(303);
    expect(cleared.location).toBe('/console/users?sort=login&order=asc&saved=export-bot');
    expect((await adminApi(t, 'GET', '/admin/users/export-bot')).json).toMatchObject({ sessionExpiresAt: null, version: 2 });

    const stale = await ops.postFields('/console/users/export-bot', [['version', '1'], ['sessionExpiresAt', '2029-01-31']]);
    expect(stale.status).toBe(412);
    expect(stale.text).toContain('Someone else changed this user since you opened it');
    expect(stale.text).toContain('Reload the current version');
    expect(stale.text).toContain('value="2029-01-31"');

    const config = await ops.postFields('/console/users/api-user', [['version', ''], ['sessionExpiresAt', '2029-01-31']]);
    expect(config.status).toBe(409);
    expect(config.text).toContain('declared in the config file');
  });

  it('deletes a user after naming the live sessions it ends', async () => {
    await adminApi(t, 'POST', '/admin/users', { login: 'busy-user', keys: ['demo-rw'], password: 'a long password' });
    const login = await fetch(`${t.url}/api/${SECRETS.rwKey}/authlogin.json`, { method: 'POST', headers: { 'PCR-AUTH-USERNAME': 'busy-user', 'PCR-AUTH-PASSWORD': 'a long password' } });
    expect(login.status).toBe(200);
    const confirm = await ops.get('/console/users/busy-user/delete');
    expect(confirm.text).toContain('This ends its <strong>1 live session</strong> at once.');
    const deleted = await ops.postFields('/console/users/busy-user/delete', [['version', '1'], ['force', 'true']]);
    expect(deleted.status).toBe(303);
    expect((await ops.get(deleted.location!)).text).toContain('Deleted busy-user; 1 session ended.');
    expect((await adminApi(t, 'GET', '/admin/users/busy-user')).status).toBe(404);

    expect((await ops.get('/console/users/api-user/delete')).status).toBe(409);
  });

  it('gives a read session no controls and refuses its posts', async () => {
    const grid = await viewer.get('/console/users');
    expect(grid.text).toContain('>export-bot<');
    expect(grid.text).not.toContain('Add user');
    expect(grid.text).not.toContain('/edit');
    expect((await viewer.get('/console/users/export-bot/edit')).status).toBe(403);
    expect((await viewer.postFields('/console/users/export-bot/delete', [['version', '2']])).status).toBe(403);
  });
});
