// The console's API Access page over HTTP: the grid with the proxy's scope and lifetimes as hours and minutes,
// sorted on the server; adding a client with a generated secret shown once (and usable at the token endpoint),
// hours and minutes composed for the API and 0h0m refused next to its field with everything typed kept; an
// edit, a stale edit (412), a delete naming the grants it revokes; config entries and read sessions without
// controls; client credentials with the service identity it needs, and the introspection flag.

import { describe, expect, it } from 'vitest';
import { gridRowOf, signInToConsole, versionOf, type ConsoleClient } from '../helpers/console-http.js';
import { adminApi, consoleProxyForSuite, OPS_TOKEN, VIEWER_TOKEN } from '../helpers/console-proxy.js';
import { basicAuth, login, tokenRequest } from '../helpers/oauth.js';

const t = consoleProxyForSuite({ tokenNames: { manage: 'alice', read: 'rita' }, pcr: false });

const FORM = { description: '', secret: '', accessTokenTtlHours: '1', accessTokenTtlMinutes: '30', refreshTokenTtlHours: '8', refreshTokenTtlMinutes: '0', grants: ['password', 'refresh_token'] };

describe('the API Access page', () => {
  let alice: ConsoleClient;

  it('lists the config clients with the scope, lifetimes in hours and minutes, and no edit controls', async () => {
    alice = await signInToConsole(t.proxy.adminUrl, OPS_TOKEN);
    const page = await alice.get('/console/clients');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>API Access</h1>');
    const row = gridRowOf(page.text, 'password-only');
    expect(row).toContain('<td>public-api</td>');
    expect(row).toContain('<td>30 min</td><td>1 h</td>');
    expect(row).toMatch(/<td>yes<\/td><td>no<\/td>/);
    expect(row).toContain('In the config file');
    expect(row).not.toContain('/edit');
    expect(page.text).toContain('href="/console/clients/new"');
  });

  it('adds a client with a generated secret shown once, which then gets tokens', async () => {
    const answer = await alice.post('/console/clients/new', { ...FORM, id: 'reporting', description: 'Reporting <tool>', grants: ['password'] });
    expect(answer.status).toBe(201);
    const secret = /id="shown-secret" type="text" value="([^"]+)"/.exec(answer.text)?.[1];
    expect(secret).toMatch(/^[\w-]{40,}$/);
    expect(answer.text).toContain('data-copy="shown-secret"');
    expect(answer.text).toContain('shown only this once');
    const grid = await alice.get('/console/clients');
    const row = gridRowOf(grid.text, 'reporting');
    expect(row).toContain('Reporting &lt;tool&gt;');
    expect(row).toContain('<td>1 h 30 min</td><td>8 h</td>');
    // Password, Refresh token, Client credentials, Introspection, Live grants, Source.
    expect(row).toMatch(/<td>yes<\/td><td>no<\/td><td>no<\/td><td>no<\/td><td>0<\/td><td>managed<\/td>/);
    expect(grid.text).not.toContain(secret);
    const token = await login(t.url, {}, { id: 'reporting', secret: secret! });
    expect(token.status, JSON.stringify(token.body)).toBe(200);
    expect(gridRowOf((await alice.get('/console/clients')).text, 'reporting')).toContain('<td>1</td><td>managed</td>');
  });

  it('refuses 0h0m next to the field and keeps everything typed', async () => {
    const answer = await alice.post('/console/clients/new', { ...FORM, id: 'zero', description: 'kept', secret: 'kept-secret-1', accessTokenTtlHours: '0', accessTokenTtlMinutes: '0', grants: [] });
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/<p class="field-error" id="e-accessTokenTtl">expected a duration above zero/);
    expect(answer.text).toContain('id="e-grants"');
    expect(answer.text).toContain('id="f-id" name="id" type="text" value="zero"');
    expect(answer.text).toContain('value="kept"');
    expect(answer.text).toContain('value="kept-secret-1"');
    expect(answer.text).not.toMatch(/id="f-grants-password"[^>]*checked/);
    expect((await alice.get('/console/clients')).text).not.toContain('>zero<');
  });

  it('keeps a chosen secret to itself and sorts lifetimes as durations', async () => {
    const answer = await alice.post('/console/clients/new', { ...FORM, id: 'quick', secret: 'chosen-secret-1', accessTokenTtlHours: '0', accessTokenTtlMinutes: '5' });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/console/clients?created=quick');
    const sorted = await alice.get('/console/clients?sort=accessTokenTtl&order=asc');
    const ids = [...sorted.text.matchAll(/<th scope="row" class="mono">([^<]+)<\/th>/g)].map((m) => m[1]);
    expect(ids[0]).toBe('quick');
    expect(ids.indexOf('password-only')).toBeLessThan(ids.indexOf('public-api'));
  });

  it('edits a client, and refuses a stale edit with a reload link', async () => {
    const form = await alice.get('/console/clients/reporting/edit');
    expect(form.text).toContain('readonly');
    expect(form.text).toContain('Set a new secret');
    expect(form.text).toContain('id="f-accessTokenTtlMinutes" name="accessTokenTtlMinutes" type="number"');
    const version = versionOf(form.text);
    const saved = await alice.post('/console/clients/reporting/edit', { ...FORM, version, description: 'Reporting', accessTokenTtlHours: '2', accessTokenTtlMinutes: '0' });
    expect(saved.status).toBe(303);
    expect((await alice.get('/console/clients')).text).toContain('<td>2 h</td>');
    const stale = await alice.post('/console/clients/reporting/edit', { ...FORM, version, description: 'Stale' });
    expect(stale.status).toBe(412);
    expect(stale.text).toContain('Someone else changed this client');
    expect(stale.text).toContain('href="/console/clients/reporting/edit"');
    expect(stale.text).toContain('value="Stale"');
  });

  it('deletes a client after a confirmation naming its live grants', async () => {
    const confirm = await alice.get('/console/clients/reporting/delete');
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('This revokes its 1 live grant');
    const deleted = await alice.post('/console/clients/reporting/delete', { version: versionOf(confirm.text) });
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe('/console/clients?deleted=reporting&revoked=1');
    expect((await alice.get('/console/clients')).text).not.toContain('>reporting<');
  });

  it('shows config entries read-only and refuses to change them', async () => {
    const page = await alice.get('/console/clients/public-api/edit');
    expect(page.text).toContain('declared in the config file');
    expect(page.text).not.toContain('<form class="record"');
    const refused = await alice.post('/console/clients/public-api/edit', { ...FORM, version: '' });
    expect(refused.status).toBe(409);
  });

  it('gives a read session no controls, and no way to add', async () => {
    const rita = await signInToConsole(t.proxy.adminUrl, VIEWER_TOKEN);
    const grid = await rita.get('/console/clients');
    expect(grid.status).toBe(200);
    expect(grid.text).not.toContain('/console/clients/new');
    expect(grid.text).not.toContain('/edit"');
    expect((await rita.get('/console/clients/new')).status).toBe(403);
    expect((await rita.get('/console/clients/quick/edit')).text).not.toContain('<form class="record"');
    expect((await rita.post('/console/clients/quick/delete', { version: '1' })).status).toBe(403);
  });
});

describe('client credentials and introspection on the API Access page', () => {
  let alice: ConsoleClient;
  const SERVICE = { serviceName: 'svc-monitoring', serviceTeams: 'noc, network', serviceOrganizations: 'acme', serviceFeatures: '' };

  it('asks for a service name next to its field when client credentials is ticked without one', async () => {
    alice = await signInToConsole(t.proxy.adminUrl, OPS_TOKEN);
    const form = await alice.get('/console/clients/new');
    expect(form.text).toContain('id="f-grants-client_credentials"');
    expect(form.text).toContain('id="f-serviceName"');
    expect(form.text).toContain('id="f-introspect"');
    const answer = await alice.post('/console/clients/new', { ...FORM, id: 'monitoring', secret: 'monitoring-secret-1', grants: ['client_credentials'] });
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/<p class="field-error" id="e-serviceName">required when grants include client_credentials/);
    expect(answer.text).toMatch(/id="f-grants-client_credentials"[^>]*checked/);
  });

  it('adds a client with client credentials, a service identity and introspection, which then gets its own token', async () => {
    const answer = await alice.post('/console/clients/new', { ...FORM, ...SERVICE, id: 'monitoring', secret: 'monitoring-secret-1', grants: ['client_credentials'], introspect: 'on' });
    expect(answer.status, answer.text).toBe(303);
    const row = gridRowOf((await alice.get('/console/clients')).text, 'monitoring');
    expect(row).toContain('<td>no</td><td>no</td><td>yes, as svc-monitoring</td><td>yes</td>');
    const stored = await adminApi(t, 'GET', '/admin/clients/monitoring');
    expect(stored.json).toMatchObject({ grants: ['client_credentials'], introspect: true, serviceIdentity: { name: 'svc-monitoring', teams: ['noc', 'network'], organizations: ['acme'], features: [] } });
    const token = await tokenRequest(t.url, { grant_type: 'client_credentials' }, { authorization: basicAuth('monitoring', 'monitoring-secret-1') });
    expect(token.status, JSON.stringify(token.body)).toBe(200);
    expect(token.body['refresh_token']).toBeUndefined();
  });

  it('keeps the service identity in the edit form and refuses to clear it while the grant is on', async () => {
    const form = await alice.get('/console/clients/monitoring/edit');
    expect(form.text).toContain('value="svc-monitoring"');
    expect(form.text).toContain('value="noc, network"');
    expect(form.text).toMatch(/id="f-introspect"[^>]*checked/);
    const version = versionOf(form.text);
    const cleared = await alice.post('/console/clients/monitoring/edit', { ...FORM, version, grants: ['client_credentials'], introspect: 'on' });
    expect(cleared.status).toBe(400);
    expect(cleared.text).toContain('id="e-serviceName"');
    const off = await alice.post('/console/clients/monitoring/edit', { ...FORM, ...SERVICE, version, grants: ['password'] });
    expect(off.status, off.text).toBe(303);
    const stored = await adminApi(t, 'GET', '/admin/clients/monitoring');
    // The grant is off and so is introspection (an unticked box is not sent), the identity is kept for later.
    expect(stored.json).toMatchObject({ grants: ['password'], introspect: false, serviceIdentity: { name: 'svc-monitoring' } });
    const detail = await signInToConsole(t.proxy.adminUrl, VIEWER_TOKEN).then((rita) => rita.get('/console/clients/monitoring/edit'));
    expect(detail.text).toContain('<dt>Client credentials</dt><dd>no</dd>');
    expect(detail.text).toContain('<dt>Service identity</dt><dd>svc-monitoring (teams: noc, network; organizations: acme)</dd>');
    expect(detail.text).toContain('<dt>Introspection</dt><dd>no</dd>');
  });
});
