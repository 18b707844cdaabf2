// The console's Operators page over HTTP: the grid with API access, teams, organizations and features; adding an
// operator with a generated password shown once (and usable at the token endpoint); problems of one list entry
// shown next to its field with everything typed kept; an edit that takes API access away, a stale edit (412), a
// delete that revokes the operator's grants; config entries and read sessions without controls.

import { describe, expect, it } from 'vitest';
import { gridRowOf, signInToConsole, versionOf, type ConsoleClient } from '../helpers/console-http.js';
import { consoleProxyForSuite, OPS_TOKEN, VIEWER_TOKEN } from '../helpers/console-proxy.js';
import { login } from '../helpers/oauth.js';

const t = consoleProxyForSuite({ tokenNames: { manage: 'alice', read: 'rita' }, pcr: false });


describe('the Operators page', () => {
  let alice: ConsoleClient;
  let password = '';

  it('lists the config operators without edit controls', async () => {
    alice = await signInToConsole(t.proxy.adminUrl, OPS_TOKEN);
    const page = await alice.get('/console/operators');
    expect(page.status).toBe(200);
    const row = gridRowOf(page.text, 'my-operator');
    expect(row).toContain('<td>yes</td>');
    expect(row).toContain('service-desk, network');
    expect(row).toContain('In the config file');
    expect(gridRowOf(page.text, 'no-api-operator')).toContain('<td>no</td>');
    expect(page.text).toContain('href="/console/operators/new"');
  });

  it('adds an operator with a generated password shown once, which then logs in', async () => {
    const answer = await alice.post('/console/operators/new', { login: 'night-shift', password: '', apiAccess: 'on', teams: 'network, ops', organizations: 'acme', features: 'tickets' });
    expect(answer.status).toBe(201);
    password = /id="shown-secret" type="text" value="([^"]+)"/.exec(answer.text)?.[1] ?? '';
    expect(password).toMatch(/^[\w-]{40,}$/);
    expect(answer.text).toContain('data-copy="shown-secret"');
    const token = await login(t.url, { username: 'night-shift', password });
    expect(token.status, JSON.stringify(token.body)).toBe(200);
    const row = gridRowOf((await alice.get('/console/operators')).text, 'night-shift');
    expect(row).toMatch(/<td>yes<\/td>\s*<td class="text">network, ops<\/td><td class="text">acme<\/td><td class="text">tickets<\/td>\s*<td>1<\/td><td>managed<\/td>/);
  });

  it('shows each problem next to its field and keeps everything typed', async () => {
    const answer = await alice.post('/console/operators/new', { login: 'has space', password: 'short', teams: 'ok, bad,x', features: 'Über' });
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/id="e-login">expected printable ASCII/);
    expect(answer.text).toMatch(/id="e-password">expected at least 8 characters/);
    expect(answer.text).toMatch(/id="e-features">&quot;Über&quot;: /);
    expect(answer.text).toContain('value="has space"');
    expect(answer.text).toContain('value="ok, bad,x"');
    expect(answer.text).not.toMatch(/id="f-apiAccess"[^>]*checked/);
  });

  it('edits an operator, and refuses a stale edit with a reload link', async () => {
    const form = await alice.get('/console/operators/night-shift/edit');
    expect(form.text).toContain('Set a new password');
    expect(form.text).toContain('value="network, ops"');
    const version = versionOf(form.text);
    const saved = await alice.post('/console/operators/night-shift/edit', { version, password: '', teams: 'ops', organizations: '', features: '' });
    expect(saved.status).toBe(303);
    expect(gridRowOf((await alice.get('/console/operators')).text, 'night-shift')).toMatch(/<td>no<\/td>\s*<td class="text">ops<\/td>/);
    expect((await login(t.url, { username: 'night-shift', password })).status).not.toBe(200);
    const stale = await alice.post('/console/operators/night-shift/edit', { version, apiAccess: 'on', teams: 'stale' });
    expect(stale.status).toBe(412);
    expect(stale.text).toContain('Someone else changed this operator');
    expect(stale.text).toContain('href="/console/operators/night-shift/edit"');
    expect(stale.text).toContain('value="stale"');
  });

  it('deletes an operator after a confirmation naming the grants it revokes', async () => {
    const confirm = await alice.get('/console/operators/night-shift/delete');
    expect(confirm.text).toContain('This revokes its 1 live grant');
    const deleted = await alice.post('/console/operators/night-shift/delete', { version: versionOf(confirm.text) });
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe('/console/operators?deleted=night-shift&revoked=1');
    expect((await alice.get('/console/operators')).text).not.toContain('>night-shift<');
  });

  it('shows config entries read-only, and a read session no controls', async () => {
    expect((await alice.get('/console/operators/my-operator/edit')).text).not.toContain('<form class="record"');
    expect((await alice.post('/console/operators/my-operator/delete', { version: '' })).status).toBe(409);
    const rita = await signInToConsole(t.proxy.adminUrl, VIEWER_TOKEN);
    const grid = await rita.get('/console/operators');
    expect(grid.text).not.toContain('/console/operators/new');
    expect((await rita.get('/console/operators/new')).status).toBe(403);
    expect((await rita.post('/console/operators/new', { login: 'x', apiAccess: 'on' })).status).toBe(403);
  });
});
