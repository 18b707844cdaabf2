// The console's Tokens page over HTTP: both grids listed, filtered and paged; one session ended and one grant
// revoked by POST with the CSRF token; "force re-authentication" of a key and of a client through its
// confirmation page; every change audited under the signed-in admin token's name; a read session sees no
// controls and is refused on POST.

import { describe, expect, it } from 'vitest';
import { signInToConsole, type ConsoleClient } from '../helpers/console-http.js';
import { adminApi, consoleProxyForSuite, OPS_TOKEN, VIEWER_TOKEN } from '../helpers/console-proxy.js';
import { login } from '../helpers/oauth.js';
import { pcrLogin } from '../helpers/pcr.js';

const t = consoleProxyForSuite({ tokenNames: { manage: 'alice', read: 'rita' } });

const signIn = (token: string): Promise<ConsoleClient> => signInToConsole(t.proxy.adminUrl, token);
const api = async (path: string) => (await adminApi(t, 'GET', path)).json;
const sessionIds = async (query = ''): Promise<string[]> => ((await api(`/admin/sessions${query}`)).sessions as { id: string }[]).map((s) => s.id);
const liveGrants = async (): Promise<{ id: string; clientId: string; revokedAt: string | null }[]> => ((await api('/admin/token-families')).families as { id: string; clientId: string; revokedAt: string | null }[]).filter((f) => f.revokedAt === null);
const lastAudit = async () => ((await api('/admin/audit?limit=1')).entries as Record<string, unknown>[])[0]!;

describe('console Tokens page', () => {
  it('lists live sessions and grants with per-row delete buttons, filtered by key and by client', async () => {
    await pcrLogin(t.url);
    await pcrLogin(t.url);
    expect((await login(t.url)).status).toBe(200);
    const admin = await signIn(OPS_TOKEN);
    const page = await admin.get('/console/tokens');
    expect(page.status).toBe(200);
    for (const id of await sessionIds()) expect(page.text).toContain(`aria-label="Delete session ${id}"`);
    for (const grant of await liveGrants()) expect(page.text).toContain(`aria-label="Revoke grant ${grant.id}"`);
    expect(page.text).toContain('id="end-key-sessions"');
    expect(page.text).toContain('id="revoke-client-grants"');

    const none = await admin.get('/console/tokens?key=no-such-key&client=no-such-client');
    expect(none.text).toContain('No live sessions');
    expect(none.text).toContain('No grants');
    expect(none.text).not.toContain('aria-label="Delete session');
    // Sorting one grid keeps the other grid's filter in its links.
    expect(none.text).toMatch(/href="\/console\/tokens\?[^"]*ssort=user[^"]*"/);
    expect(none.text).toMatch(/href="\/console\/tokens\?(?=[^"]*ssort=user)(?=[^"]*client=no-such-client)[^"]*"/);
  });

  it('ends one session and revokes one grant, audited under the admin token name', async () => {
    const admin = await signIn(OPS_TOKEN);
    await pcrLogin(t.url);
    const [id] = await sessionIds();
    const ended = await admin.post(`/console/tokens/sessions/${encodeURIComponent(id!)}/delete`, {});
    expect(ended.status).toBe(200);
    expect(ended.text).toContain('role="status"');
    expect(ended.text).toContain(`Session <span class="mono">${id}</span> ended`);
    expect(await sessionIds()).not.toContain(id);
    expect(await lastAudit()).toMatchObject({ actor: 'alice', action: 'revoke', grid: 'sessions', target: id });

    const again = await admin.post(`/console/tokens/sessions/${encodeURIComponent(id!)}/delete`, {});
    expect(again.status).toBe(404);

    expect((await login(t.url)).status).toBe(200);
    const grant = (await liveGrants())[0]!;
    const revoked = await admin.post(`/console/tokens/grants/${encodeURIComponent(grant.id)}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect(revoked.text).toContain('revoked');
    expect((await liveGrants()).map((g) => g.id)).not.toContain(grant.id);
    expect(await lastAudit()).toMatchObject({ actor: 'alice', action: 'revoke', grid: 'token-families', target: grant.id });
  });

  it('refuses a POST without the CSRF token', async () => {
    const admin = await signIn(OPS_TOKEN);
    await pcrLogin(t.url);
    const [id] = await sessionIds();
    expect((await admin.postFields(`/console/tokens/sessions/${encodeURIComponent(id!)}/delete`, [], { withCsrf: false })).status).toBe(403);
    expect(await sessionIds()).toContain(id);
  });

  it('forces re-authentication of a key after a confirmation that says how many sessions end', async () => {
    const admin = await signIn(OPS_TOKEN);
    await pcrLogin(t.url);
    const count = (await sessionIds('?keyId=demo-rw')).length;
    expect(count).toBeGreaterThan(0);
    const confirm = await admin.get('/console/tokens/end-sessions?key=demo-rw');
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain(`This ends ${count} session${count === 1 ? '' : 's'} of key &quot;demo-rw&quot;`);
    expect(confirm.text).toContain('id="confirm-bulk"');
    expect(await sessionIds('?keyId=demo-rw')).toHaveLength(count);

    const done = await admin.post('/console/tokens/end-sessions', { key: 'demo-rw' });
    expect(done.status).toBe(200);
    expect(done.text).toContain(`Ended ${count} session${count === 1 ? '' : 's'} of key &quot;demo-rw&quot;.`);
    expect(await sessionIds('?keyId=demo-rw')).toEqual([]);
    expect(await lastAudit()).toMatchObject({ actor: 'alice', grid: 'sessions', target: 'key:demo-rw', detail: { keyId: 'demo-rw', sessionsEnded: count } });

    expect((await admin.get('/console/tokens/end-sessions?key=a&user=b')).status).toBe(400);
    expect((await admin.get('/console/tokens/end-sessions')).status).toBe(400);
  });

  it('revokes every grant of a client after a confirmation', async () => {
    const admin = await signIn(OPS_TOKEN);
    expect((await login(t.url)).status).toBe(200);
    const count = (await liveGrants()).filter((g) => g.clientId === 'public-api').length;
    const confirm = await admin.get('/console/tokens/revoke-grants?client=public-api');
    expect(confirm.text).toContain(`This ends ${count} grant${count === 1 ? '' : 's'} of client &quot;public-api&quot;`);
    const done = await admin.post('/console/tokens/revoke-grants', { client: 'public-api' });
    expect(done.text).toContain(`Revoked ${count} grant${count === 1 ? '' : 's'} of client &quot;public-api&quot;.`);
    expect((await liveGrants()).filter((g) => g.clientId === 'public-api')).toEqual([]);
    expect(await lastAudit()).toMatchObject({ actor: 'alice', grid: 'token-families', target: 'client:public-api', detail: { clientId: 'public-api', grantsRevoked: count } });
  });

  it('shows a read session the grids without any control, and refuses its POSTs', async () => {
    await pcrLogin(t.url);
    expect((await login(t.url)).status).toBe(200);
    const reader = await signIn(VIEWER_TOKEN);
    const page = await reader.get('/console/tokens');
    expect(page.status).toBe(200);
    const [id] = await sessionIds();
    expect(page.text).toContain(id);
    expect(page.text).not.toContain('aria-label="Delete session');
    expect(page.text).not.toContain('aria-label="Revoke grant');
    expect(page.text).not.toContain('end-key-sessions');
    expect((await reader.get('/console/tokens/end-sessions?key=demo-rw')).text).not.toContain('confirm-bulk');
    expect((await reader.post(`/console/tokens/sessions/${encodeURIComponent(id!)}/delete`, {})).status).toBe(403);
    expect((await reader.post('/console/tokens/end-sessions', { key: 'demo-rw' })).status).toBe(403);
    expect(await sessionIds()).toContain(id);
  });
});
