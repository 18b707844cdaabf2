// The console's API Keys page over plain HTTP, as a browser without script would use it: the grid with editable
// Read/Write checkboxes only for managed keys and manage sessions, saving a row's permissions (and a stale
// version refused), adding a key (shown once, problems next to their fields, typed values kept), editing with
// If-Match, deleting a key with live sessions, and every description escaped.

import { beforeAll, describe, expect, it } from 'vitest';
import { signInToConsole, type ConsoleClient } from '../helpers/console-http.js';
import { adminApi, consoleProxyForSuite, OPS_TOKEN, VIEWER_TOKEN } from '../helpers/console-proxy.js';

const t = consoleProxyForSuite();

describe('the API Keys page', () => {
  let ops: ConsoleClient;
  let viewer: ConsoleClient;
  beforeAll(async () => {
    ops = await signInToConsole(t.proxy.adminUrl, OPS_TOKEN);
    viewer = await signInToConsole(t.proxy.adminUrl, VIEWER_TOKEN);
  });

  it('adds a key, shows it once, and lists it with its description escaped and its last day', async () => {
    const added = await ops.postFields('/console/keys', [
      ['id', 'ops-key'],
      ['description', '<script>alert(1)</script>"><img src=x onerror=alert(2)>'],
      ['read', 'services'],
      ['read', 'servicedesk'],
      ['write', 'servicedesk'],
      ['expiresAt', '2027-12-31'],
      ['sessions.lifetimeSeconds', '600'],
    ]);
    expect(added.status).toBe(201);
    const key = /id="new-key" type="text" readonly value="([^"]+)"/.exec(added.text)?.[1];
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(added.text).toContain('data-copy="new-key"');
    expect(added.text).toContain('will not be shown again');
    expect(added.text).toContain('Back to the API keys');

    const record = await adminApi(t, 'GET', '/admin/keys/ops-key');
    expect(record.json).toMatchObject({ read: ['services', 'servicedesk'], write: ['servicedesk'], expiresAt: '2028-01-01T00:00:00.000Z', sessions: { lifetimeSeconds: 600 }, tokenAuth: false, version: 1 });

    const grid = await ops.get('/console/keys?q=ops-key');
    expect(grid.text).not.toContain('<script>alert');
    expect(grid.text).not.toContain('<img src=x');
    expect(grid.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(grid.text).toContain('<td>2027-12-31</td>');
    expect(grid.text).toContain('aria-label="Save permissions of ops-key"');
    expect(grid.text).toMatch(/<input type="checkbox" name="write" value="servicedesk" form="perm-ops-key" checked aria-label="Write servicedesk of ops-key">/);
    expect(grid.text).toMatch(/<form id="perm-ops-key" method="post" action="\/console\/keys\/ops-key\/permissions\?q=ops-key&amp;sort=id&amp;order=asc">/);
    expect(grid.text).not.toContain(key!);
  });

  it('keeps what was typed and puts each problem next to its field', async () => {
    const answer = await ops.postFields('/console/keys', [
      ['id', 'Bad Id'],
      ['description', 'typed <b>text</b>'],
      ['read', 'nope'],
      ['expiresAt', '2027-02-30x'],
    ]);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('id="problems"');
    expect(answer.text).toMatch(/id="f-id"[^>]*value="Bad Id"[^>]*aria-invalid="true"/);
    expect(answer.text).toContain('<p class="field-error" id="e-id">expected a lower-case id</p>');
    expect(answer.text).toContain('value="typed &lt;b&gt;text&lt;/b&gt;"');
    expect(answer.text).toMatch(/<p class="field-error" id="e-read">unknown section &quot;nope&quot;/);
    expect(answer.text).toMatch(/id="e-expiresAt">expected a date/);
    expect((await adminApi(t, 'GET', '/admin/keys/bad-id')).status).toBe(404);
  });

  it('saves a row\'s permissions with its version, and refuses a stale one', async () => {
    const saved = await ops.postFields('/console/keys/ops-key/permissions?q=ops&sort=id&order=asc', [
      ['version', '1'],
      ['read', 'snmp'],
    ]);
    expect(saved.status).toBe(303);
    expect(saved.location).toBe('/console/keys?q=ops&sort=id&order=asc&saved=ops-key');
    expect((await ops.get(saved.location!)).text).toContain('Saved ops-key.');
    expect((await adminApi(t, 'GET', '/admin/keys/ops-key')).json).toMatchObject({ read: ['snmp'], write: [], version: 2 });

    const stale = await ops.postFields('/console/keys/ops-key/permissions', [
      ['version', '1'],
      ['write', 'services'],
    ]);
    expect(stale.status).toBe(412);
    expect(stale.text).toContain('Someone else changed the key ops-key since you opened this page');
    expect((await adminApi(t, 'GET', '/admin/keys/ops-key')).json).toMatchObject({ write: [], version: 2 });

    const config = await ops.postFields('/console/keys/demo-rw/permissions', [['version', ''], ['read', 'snmp']]);
    expect(config.status).toBe(409);
    expect(config.text).toContain('declared in the config file');
  });

  it('edits with If-Match: clears the expiry, and keeps what was typed when someone else saved first', async () => {
    const form = await ops.get('/console/keys/ops-key/edit');
    expect(form.text).toContain('name="version" value="2"');
    expect(form.text).toMatch(/id="f-expiresAt" name="expiresAt" type="date" value="2027-12-31"/);
    const saved = await ops.postFields('/console/keys/ops-key', [['version', '2'], ['description', 'Nightly export'], ['read', 'services'], ['expiresAt', ''], ['tokenAuth', 'on']]);
    expect(saved.status).toBe(303);
    expect((await adminApi(t, 'GET', '/admin/keys/ops-key')).json).toMatchObject({ description: 'Nightly export', read: ['services'], expiresAt: null, tokenAuth: true, sessions: null, version: 3 });

    const stale = await ops.postFields('/console/keys/ops-key', [['version', '2'], ['description', 'Typed again'], ['expiresAt', '2030-06-30']]);
    expect(stale.status).toBe(412);
    expect(stale.text).toContain('Someone else changed this key since you opened it');
    expect(stale.text).toContain('href="/console/keys/ops-key/edit?sort=id&amp;order=asc">Reload the current version</a>');
    expect(stale.text).toContain('value="Typed again"');
    expect(stale.text).toContain('value="2030-06-30"');
    expect((await adminApi(t, 'GET', '/admin/keys/ops-key')).json).toMatchObject({ description: 'Nightly export', version: 3 });

    const config = await ops.get('/console/keys/demo-rw/edit');
    expect(config.status).toBe(409);
    expect(config.text).toContain('declared in the config file');
  });

  it('shows an expiry that is not midnight UTC as the exact instant', async () => {
    await adminApi(t, 'POST', '/admin/keys', { id: 'instant-key', expiresAt: '2027-06-30T12:00:00Z' });
    expect((await ops.get('/console/keys?q=instant-key')).text).toContain('<td>2027-06-30 12:00:00 UTC</td>');
    expect((await ops.get('/console/keys/instant-key/edit')).text).toMatch(/id="f-expiresAt" name="expiresAt" type="text" value="2027-06-30T12:00:00.000Z"/);
  });

  it('deletes a key after naming the live sessions it ends', async () => {
    const created = await adminApi(t, 'POST', '/admin/keys', { id: 'busy-key', read: ['servicedesk'], tokenAuth: true });
    await adminApi(t, 'POST', '/admin/users', { login: 'busy-user', keys: ['busy-key'], password: 'a long password' });
    for (let i = 0; i < 2; i++) {
      const login = await fetch(`${t.url}/api/${String(created.json['key'])}/authlogin.json`, { method: 'POST', headers: { 'PCR-AUTH-USERNAME': 'busy-user', 'PCR-AUTH-PASSWORD': 'a long password' } });
      expect(login.status).toBe(200);
    }
    const confirm = await ops.get('/console/keys/busy-key/delete');
    expect(confirm.text).toContain('This ends its <strong>2 live sessions</strong> at once.');
    expect(confirm.text).toContain('<input type="hidden" name="force" value="true">');
    expect(confirm.text).toContain('>Delete busy-key</button>');

    const unforced = await ops.postFields('/console/keys/busy-key/delete', [['version', '1']]);
    expect(unforced.status).toBe(409);
    expect(unforced.text).toContain('The key now has 2 live sessions; nothing was deleted.');

    const deleted = await ops.postFields('/console/keys/busy-key/delete?sort=id&order=asc', [['version', '1'], ['force', 'true']]);
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe('/console/keys?sort=id&order=asc&deleted=busy-key&ended=2');
    expect((await ops.get(deleted.location!)).text).toContain('Deleted busy-key; 2 sessions ended.');
    expect((await adminApi(t, 'GET', '/admin/keys/busy-key')).status).toBe(404);
  });

  it('gives a read session no controls and refuses its posts', async () => {
    const grid = await viewer.get('/console/keys?q=ops-key');
    expect(grid.status).toBe(200);
    expect(grid.text).toContain('aria-label="Read services of ops-key"');
    expect(grid.text).not.toContain('Save permissions');
    expect(grid.text).not.toContain('form="perm-');
    expect(grid.text).not.toContain('Add key');
    expect(grid.text).not.toContain('/edit');
    expect(grid.text).toMatch(/value="services" disabled checked aria-label="Read services of ops-key"/);
    expect((await viewer.get('/console/keys/new')).status).toBe(403);
    expect((await viewer.postFields('/console/keys/ops-key/permissions', [['version', '3']])).status).toBe(403);
  });

  it('pages, sorts and filters on the server', async () => {
    // Through the console's own form: the admin API checks its bearer token with scrypt on every call.
    for (let i = 0; i < 55; i++) expect((await ops.postFields('/console/keys', [['id', `bulk-${String(i).padStart(2, '0')}`]])).status).toBe(201);
    const first = await ops.get('/console/keys?q=bulk-&sort=id&order=desc');
    expect(first.text).toContain('1–50 of 55 API keys, page 1 of 2');
    expect(first.text.indexOf('>bulk-54<')).toBeLessThan(first.text.indexOf('>bulk-10<'));
    expect(first.text).not.toContain('>bulk-04<');
    const second = await ops.get('/console/keys?q=bulk-&sort=id&order=desc&page=2');
    expect(second.text).toContain('>bulk-04<');
    expect(second.text).toContain('51–55 of 55 API keys');
  }, 60_000);
});
