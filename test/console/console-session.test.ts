// The console's sign-in and session over plain HTTP: the security headers of every page, the sign-in form's own
// CSRF check, the session cookie's flags and bounded lifetime, sign-out ending the session on the server, a
// session ending with its admin token, CSRF and same-origin checks on every POST, read tokens refused changes,
// and the console present on the admin listener only.

import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/secrets/hash.js';
import { SECRETS } from '../fixtures/secrets.js';
import { cookieFrom, formBody, signInToConsole, submitSignIn } from '../helpers/console-http.js';
import { loadPcrConfig, withPcr } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';

const VIEWER = 'viewer-console-token-0123456789';
let viewerHash = '';
const adminSection = () => ({ host: '127.0.0.1', port: 0, tokens: [{ name: 'ops', role: 'manage', token: SECRETS.adminTokenHash }, { name: 'viewer', role: 'read', token: viewerHash }] });

const t = testProxyForSuite(async () => {
  viewerHash = await hashSecret(VIEWER);
  return withPcr((config) => {
    config['admin'] = adminSection();
  });
});
const adminUrl = () => t.proxy.adminUrl;

describe('the sign-in form', () => {
  it('carries the security headers and a CSP without inline script', async () => {
    const page = await send(`${adminUrl()}/console/sign-in`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(page.text).not.toMatch(/\son[a-z]+=/);
    expect(cookieFrom(page, 'portcullis_console_sign_in')).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('refuses a submission without its CSRF cookie and field', async () => {
    const reply = await send(`${adminUrl()}/console/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody({ token: SECRETS.adminToken }) });
    expect(reply.status).toBe(403);
    expect(cookieFrom(reply, 'portcullis_console')).toBeUndefined();
  });

  it('says a wrong token is wrong, next to the field, and sets no session', async () => {
    const { reply, session } = await submitSignIn(adminUrl(), 'not-a-token');
    expect(reply.status).toBe(401);
    expect(reply.text).toContain('That is not a valid admin token.');
    expect(reply.text).toContain('aria-invalid="true"');
    expect(session).toBeUndefined();
  });

  it('signs in with a valid token: an HttpOnly, SameSite=Strict, bounded cookie on /console, no token echoed', async () => {
    const { reply, session } = await submitSignIn(adminUrl(), SECRETS.adminToken);
    expect(reply.status).toBe(303);
    expect(reply.headers.get('location')).toBe('/console/keys');
    expect(session).toMatch(/^portcullis_console=[^;]+; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    expect(session).not.toContain(SECRETS.adminToken);
  });
});

describe('a console session', () => {
  it('shows who is signed in, and ends for good at sign-out', async () => {
    const client = await signInToConsole(adminUrl(), SECRETS.adminToken);
    const page = await client.get('/console/keys');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<strong>ops</strong> (manage)');
    const out = await client.post('/console/sign-out', {});
    expect(out.status).toBe(303);
    expect(cookieFrom(out, 'portcullis_console')).toMatch(/Max-Age=0/);
    // The old cookie, replayed, no longer works: the session was revoked in the store.
    const replay = await client.get('/console/keys');
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/console/sign-in');
  });

  it('ends when its lifetime is over', async () => {
    const client = await signInToConsole(adminUrl(), SECRETS.adminToken);
    t.clock.advance(8 * 3600_000 + 1000);
    try {
      expect((await client.get('/console/keys')).status).toBe(303);
    } finally {
      t.clock.advance(-(8 * 3600_000 + 1000));
    }
  });

  it('ends when its admin token is removed or given another secret by a reload', async () => {
    const client = await signInToConsole(adminUrl(), SECRETS.adminToken);
    const viewer = await signInToConsole(adminUrl(), VIEWER);
    const reloaded = (admin: Record<string, unknown>) =>
      loadPcrConfig(t.upstream.url, (config) => {
        config['admin'] = admin;
      });
    await t.proxy.reload(await reloaded({ ...adminSection(), tokens: [{ name: 'viewer', role: 'read', token: await hashSecret(VIEWER) }] }));
    try {
      expect((await client.get('/console/keys')).status).toBe(303);
      // The viewer's token kept its name but now has another hash (salt): its old sessions end too.
      expect((await viewer.get('/console/keys')).status).toBe(303);
    } finally {
      await t.proxy.reload(await reloaded(adminSection()));
    }
  });

  it('refuses a POST without the CSRF token, with a wrong one, or from another origin', async () => {
    const client = await signInToConsole(adminUrl(), SECRETS.adminToken);
    const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      send(`${adminUrl()}/console/sign-out`, { method: 'POST', headers: { cookie: client.cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: formBody(body), redirect: 'manual' });
    expect((await post({})).status).toBe(403);
    expect((await post({ _csrf: 'x'.repeat(client.csrf.length) })).status).toBe(403);
    expect((await post({ _csrf: client.csrf }, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ _csrf: client.csrf }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // Still signed in: none of those did anything.
    expect((await client.get('/console/keys')).status).toBe(200);
  });

  it('lets a read token look and sign out, and refuses it every change', async () => {
    const viewer = await signInToConsole(adminUrl(), VIEWER);
    const page = await viewer.get('/console/keys');
    expect(page.text).toContain('<strong>viewer</strong> (read only)');
    const forged = await viewer.post('/console/keys', { id: 'forged', read: 'servicedesk' });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('may only read');
    expect((await viewer.post('/console/sign-out', {})).status).toBe(303);
  });
});

describe('where the console is served', () => {
  it('is not on the public listener', async () => {
    const reply = await send(`${t.url}/console/sign-in`);
    expect(reply.status).not.toBe(200);
    expect(reply.headers.get('content-security-policy')).toBeNull();
  });

  it('serves its stylesheet and script from the admin listener itself', async () => {
    const css = await send(`${adminUrl()}/console/assets/console.css`);
    const js = await send(`${adminUrl()}/console/assets/console.js`);
    expect([css.status, js.status]).toEqual([200, 200]);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(js.headers.get('content-type')).toContain('javascript');
  });
});
