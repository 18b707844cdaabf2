// The SQLite store through the real proxy: state created through the public and admin APIs (an OAuth grant, a
// PCR-360 session, a grant revoked by refresh-token reuse, an access token revoked by an admin, failed-login
// counts) is all still in force after the proxy is closed and a new one starts on the same file, and so are the
// API key, API user, OAuth client and operator created through the admin API, with their versions and the audit
// log. Also: a failing
// database answers 503 like an unreachable Redis, session activity reaches the file coalesced, and more than one
// worker on the SQLite store is refused.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runStart } from '../../src/cli/start.js';
import type { PortcullisHooks } from '../../src/portcullis.js';
import type { Store } from '../../src/store/store.js';
import { writeCliConfig } from '../helpers/cli-process.js';
import { withPcr } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { basicAuth, bearerGet, login, refreshGrant, tokenRequest } from '../helpers/oauth.js';
import { pcrCall, pcrLogin, pcrLoginRequest } from '../helpers/pcr.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { SECRETS } from '../fixtures/secrets.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-sqlite-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let running: TestProxy | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

/** A proxy with both faces on the SQLite file `path`, at most 3 failed logins per user. */
async function startOn(path: string, hooks: PortcullisHooks = {}): Promise<TestProxy> {
  const pcr = withPcr((config) => {
    config['store'] = { type: 'sqlite', path };
    config['protection'] = { bruteForce: { maxFailuresPerUser: 3, maxFailuresPerAddress: 20, window: '15m' } };
  });
  running = await startTestProxy({ ...pcr, hooks });
  return running;
}

/** Counts the store's touchSession calls; private fields need the real store as `this`. */
function countingTouches(counter: { touches: number }): PortcullisHooks {
  return {
    wrapStore: (store: Store) =>
      new Proxy(store, {
        get(target, key) {
          const value = Reflect.get(target, key, target) as unknown;
          if (typeof value !== 'function') return value;
          if (key === 'touchSession') counter.touches++;
          return (value as (...args: unknown[]) => unknown).bind(target);
        },
      }),
  };
}

async function stop(proxy: TestProxy): Promise<void> {
  await proxy.close();
  running = null;
}

function adminRevoke(proxy: TestProxy, token: string) {
  return send(`${proxy.proxy.adminUrl}/admin/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRETS.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
}

function adminCall(proxy: TestProxy, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return send(`${proxy.proxy.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${SECRETS.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The managed rows of every grid and the whole audit log, as the admin API shows them. */
async function managedState(proxy: TestProxy) {
  const grids: Record<string, unknown[]> = {};
  for (const grid of ['keys', 'users', 'clients', 'operators']) {
    const rows = (await adminCall(proxy, 'GET', `/admin/${grid}`)).json[grid] as Array<{ source: string }>;
    grids[grid] = rows.filter((row) => row.source === 'managed');
  }
  return { grids, audit: (await adminCall(proxy, 'GET', '/admin/audit?limit=500')).json.entries as unknown[] };
}

const wrongPassword = (url: string) => login(url, { username: 'nobody-here', password: 'not-the-password' });

describe('the SQLite store across a restart', () => {
  it('keeps grants, sessions, revocations and failed-login counts', async () => {
    const path = join(dir, 'restart', 'portcullis.db');
    const first = await startOn(path);

    const grant = await login(first.url);
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    const refreshToken = grant.body['refresh_token'] as string;
    const accessToken = grant.body['access_token'] as string;

    const session = await pcrLogin(first.url);
    expect((await pcrCall(first.url, SECRETS.rwKey, session)).status).toBe(200);

    // A grant revoked by reuse: its rotated refresh token and its access token must stay dead.
    const stolen = await login(first.url);
    const rotated = await refreshGrant(first.url, stolen.body['refresh_token'] as string);
    expect(rotated.status).toBe(200);
    expect((await refreshGrant(first.url, stolen.body['refresh_token'] as string)).status).toBe(400);
    const stolenAccess = rotated.body['access_token'] as string;

    // One access token revoked by an admin.
    const revoked = await login(first.url);
    const revokedAccess = revoked.body['access_token'] as string;
    expect((await adminRevoke(first, revokedAccess)).status).toBe(200);
    expect((await bearerGet(first.url, revokedAccess)).status).toBe(401);

    for (let i = 0; i < 2; i++) expect((await wrongPassword(first.url)).status).toBe(400);
    await stop(first);

    const second = await startOn(path);
    expect((await bearerGet(second.url, accessToken)).status).toBe(200);
    const refreshed = await refreshGrant(second.url, refreshToken);
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect((await pcrCall(second.url, SECRETS.rwKey, session)).status).toBe(200);

    expect((await bearerGet(second.url, stolenAccess)).status).toBe(401);
    expect((await refreshGrant(second.url, rotated.body['refresh_token'] as string)).status).toBe(400);
    expect((await bearerGet(second.url, revokedAccess)).status).toBe(401);

    // Two failures were counted before the restart: the third reaches the limit, the fourth is held back.
    expect((await wrongPassword(second.url)).status).toBe(400);
    expect((await wrongPassword(second.url)).status).toBe(429);
  });

  it('answers 503 store_unavailable when the database refuses a write, and recovers when it accepts again', async () => {
    const path = join(dir, 'failing', 'portcullis.db');
    const proxy = await startOn(path);
    const saboteur = new Database(path);
    try {
      saboteur.exec("CREATE TRIGGER no_sessions BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
      const refused = await pcrLoginRequest(proxy.url);
      expect(refused.status, refused.text).toBe(503);
      expect(refused.json).toMatchObject({ error: 'store_unavailable' });
      saboteur.exec('DROP TRIGGER no_sessions');
      expect((await pcrLoginRequest(proxy.url)).status).toBe(200);
    } finally {
      saboteur.close();
    }
  });
});

describe('managed credentials on the SQLite store across a restart', () => {
  it('serves the key, user, client and operator created through the admin API, with their versions and the audit log', async () => {
    const path = join(dir, 'managed', 'portcullis.db');
    const first = await startOn(path);
    const created = async (grid: string, body: Record<string, unknown>) => {
      const reply = await adminCall(first, 'POST', `/admin/${grid}`, body);
      expect(reply.status, reply.text).toBe(201);
      return reply.json as Record<string, unknown>;
    };
    const key = (await created('keys', { id: 'restart-key', read: ['servicedesk'], write: ['servicedesk'], tokenAuth: true }))['key'] as string;
    await created('users', { login: 'restart-user', keys: ['restart-key'], password: 'restart-user-password' });
    const secret = (await created('clients', { id: 'restart-client', accessTokenTtl: '2h' }))['secret'] as string;
    await created('operators', { login: 'restart-op', password: 'restart-op-password', apiAccess: true, teams: ['night-shift'] });
    expect((await adminCall(first, 'PATCH', '/admin/keys/restart-key', { description: 'edited once' })).json).toMatchObject({ version: 2 });
    expect((await adminCall(first, 'PATCH', '/admin/operators/restart-op', { teams: ['night-shift', 'network'] })).json).toMatchObject({ version: 2 });

    const session = await pcrLoginRequest(first.url, key, 'restart-user', { password: 'restart-user-password' });
    expect(session.status, session.text).toBe(200);
    const sessionToken = session.json.token as string;
    const client = { id: 'restart-client', secret };
    const grant = await login(first.url, { username: 'restart-op', password: 'restart-op-password' }, client);
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    const before = await managedState(first);
    expect(before.grids['keys']).toEqual([expect.objectContaining({ id: 'restart-key', version: 2, description: 'edited once', liveSessions: 1 })]);
    expect(before.audit).toHaveLength(6);
    await stop(first);

    const second = await startOn(path);
    expect(await managedState(second)).toEqual(before);
    expect((await adminCall(second, 'GET', '/admin/operators/restart-op')).headers.get('etag')).toBe('"2"');

    expect((await pcrCall(second.url, key, sessionToken)).status).toBe(200);
    expect((await pcrCall(second.url, key, sessionToken, 'servicedesk.json', 'POST')).status).toBe(200);
    expect((await pcrLoginRequest(second.url, key, 'restart-user', { password: 'restart-user-password' })).status).toBe(200);
    expect(second.upstream.requests.every((request) => !request.url.includes(key))).toBe(true);

    const used = await bearerGet(second.url, grant.body['access_token'] as string);
    expect(used.status, used.text).toBe(200);
    expect(second.upstream.requests.at(-1)!.headers['x-portcullis-teams']).toBe('night-shift,network');
    const refreshed = await tokenRequest(second.url, { grant_type: 'refresh_token', refresh_token: grant.body['refresh_token'] as string }, { authorization: basicAuth(client.id, client.secret) });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(refreshed.body['expires_in']).toBe(7200);
    expect((await login(second.url, { username: 'restart-op', password: 'restart-op-password' }, client)).status).toBe(200);

    // Versions go on from where they were: a write against the old version is refused, one against it accepted.
    expect((await adminCall(second, 'PATCH', '/admin/keys/restart-key', { description: 'x' }, { 'if-match': '"1"' })).status).toBe(412);
    expect((await adminCall(second, 'PATCH', '/admin/keys/restart-key', { description: 'edited twice' }, { 'if-match': '"2"' })).json).toMatchObject({ version: 3 });
  });
});

describe('session activity on the SQLite store', () => {
  it('is written back at most once per activityWriteInterval, so warm requests write nothing', async () => {
    const counter = { touches: 0 };
    const proxy = await startOn(join(dir, 'activity', 'portcullis.db'), countingTouches(counter));
    const session = await pcrLogin(proxy.url);
    for (let i = 0; i < 5; i++) {
      proxy.clock.advance(100);
      expect((await pcrCall(proxy.url, SECRETS.rwKey, session)).status).toBe(200);
    }
    expect(counter.touches).toBe(0);
    proxy.clock.advance(5000);
    expect((await pcrCall(proxy.url, SECRETS.rwKey, session)).status).toBe(200);
    expect(counter.touches).toBe(1);
  });
});

describe('workers on the SQLite store', () => {
  it('refuses more than one worker, with the same advice as for the memory store', async () => {
    const file = writeCliConfig('demo', (config) => {
      config['workers'] = 2;
      config['store'] = { type: 'sqlite', path: 'portcullis.db' };
    });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await runStart(['--config', file])).toBe(1);
      expect(errors.mock.calls.map((call) => String(call[0])).join('\n')).toMatch(/workers: 2 needs the Redis store.*SQLite store serves one process/);
    } finally {
      errors.mockRestore();
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });
});
