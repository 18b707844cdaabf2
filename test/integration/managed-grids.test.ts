// The vendors' grid workflows end to end through the admin API, on every store (memory, SQLite, Redis): an API key
// created, used, narrowed and deleted; a token-auth key with a managed API user whose deletion ends its session;
// a user's session expiration date moved into the past; an API access client and an operator used for OAuth until
// the operator loses API access and the client is deleted; and config-file entries shown read-only.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { FROZEN_EPOCH, withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, bearerGet, login, tokenRequest } from '../helpers/oauth.js';
import { pcrCall, pcrLoginRequest } from '../helpers/pcr.js';
import { flushKeyPrefix, sharedRedisUrl, uniqueKeyPrefix } from '../helpers/redis.js';

const redisUrl = sharedRedisUrl();
const redisPrefix = uniqueKeyPrefix('managed-grids');
const dir = mkdtempSync(join(tmpdir(), 'portcullis-managed-grids-'));

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (redisUrl !== null) await flushKeyPrefix(redisUrl, redisPrefix);
});

const STORES = [
  { name: 'memory', available: true, section: () => ({ type: 'memory' }) },
  { name: 'sqlite', available: true, section: () => ({ type: 'sqlite', path: join(dir, 'portcullis.db') }) },
  { name: 'redis', available: redisUrl !== null, section: () => ({ type: 'redis', url: redisUrl, keyPrefix: redisPrefix }) },
];

const DAY = 86_400_000;

describe.each(STORES)('managed grids on the $name store', ({ available, section }) => {
  describe.skipIf(!available)('workflows', () => {
    const t = testProxyForSuite(() =>
      withPcr((config) => {
        config['store'] = section();
        config['protection'] = { bruteForce: { enabled: false } };
      }),
    );
    resetBeforeEachTest(t, { clock: true });

    function admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
      const all: Record<string, string> = { authorization: `Bearer ${SECRETS.adminToken}`, ...headers };
      if (body !== undefined) all['content-type'] = 'application/json';
      return send(t.proxy.adminUrl + path, { method, headers: all, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    }

    async function created(path: string, body: Record<string, unknown>): Promise<Reply> {
      const reply = await admin('POST', path, body);
      expect(reply.status, reply.text).toBe(201);
      expect(reply.json).toMatchObject({ source: 'managed', version: 1 });
      return reply;
    }

    const write = (key: string, token?: string) =>
      send(`${t.url}/api/${key}/servicedesk.json`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { 'PCR-AUTH-TOKEN': token } : {}) }, body: '{"subject":"printer on fire"}' });
    const read = (key: string, token?: string) => send(`${t.url}/api/${key}/servicedesk.json`, { headers: token ? { 'PCR-AUTH-TOKEN': token } : {} });

    async function headerLogin(key: string, user: string, password: string): Promise<string> {
      const reply = await pcrLoginRequest(t.url, key, user, { password });
      expect(reply.status, reply.text).toBe(200);
      return (reply.json as { token: string }).token;
    }

    it('a key with Read and Write is served, loses Write on PATCH from the next request on, and is refused once deleted', async () => {
      const answer = await created('/admin/keys', { id: 'grid-rw', description: 'grid key', read: ['servicedesk'], write: ['servicedesk'] });
      const key = answer.json.key as string;
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(answer.headers.get('etag')).toBe('"1"');
      expect(answer.json).toMatchObject({ id: 'grid-rw', read: ['servicedesk'], write: ['servicedesk'], tokenAuth: false, expired: false });

      const listed = await admin('GET', '/admin/keys');
      expect(listed.json.keys.find((k: { id: string }) => k.id === 'grid-rw')).toMatchObject({ source: 'managed', version: 1, liveSessions: 0 });
      expect(listed.text).not.toContain(key);
      const one = await admin('GET', '/admin/keys/grid-rw');
      expect(one.headers.get('etag')).toBe('"1"');
      expect(one.json).not.toHaveProperty('key');

      expect((await read(key)).status).toBe(200);
      const posted = await write(key);
      expect(posted.status, posted.text).toBe(200);
      expect(t.upstream.requests.map((r) => [r.method, r.url])).toEqual([
        ['GET', '/api/servicedesk.json'],
        ['POST', '/api/servicedesk.json'],
      ]);
      for (const request of t.upstream.requests) expect(`${request.url}\n${request.rawHeaders.join('\n')}`).not.toContain(key);

      expect((await admin('PATCH', '/admin/keys/grid-rw', { write: [] }, { 'if-match': '"7"' })).status).toBe(412);
      const patched = await admin('PATCH', '/admin/keys/grid-rw', { write: [] }, { 'if-match': '"1"' });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.json).toMatchObject({ version: 2, write: [], read: ['servicedesk'] });
      expect(patched.headers.get('etag')).toBe('"2"');

      const refused = await write(key);
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ error: 'key_lacks_write' });
      expect((await read(key)).status).toBe(200);

      const deleted = await admin('DELETE', '/admin/keys/grid-rw');
      expect(deleted.status, deleted.text).toBe(200);
      expect(deleted.json).toEqual({ deleted: 'grid-rw', sessionsEnded: 0 });
      const gone = await read(key);
      expect(gone.status).toBe(401);
      expect(gone.json).toMatchObject({ error: 'api_key_invalid' });
      expect((await admin('GET', '/admin/keys/grid-rw')).status).toBe(404);

      const audit = await admin('GET', '/admin/audit?limit=500');
      const trail = (audit.json.entries as Array<{ grid: string; target: string; action: string }>).filter((e) => e.grid === 'keys' && e.target === 'grid-rw');
      expect(trail.map((e) => e.action)).toEqual(['delete', 'update', 'create']);
      expect(audit.text).not.toContain(key);
    });

    it("a token-auth key's managed user logs in; the key cannot be deleted while in use, and deleting the user ends its session", async () => {
      const key = (await created('/admin/keys', { id: 'grid-token', read: ['servicedesk'], write: ['servicedesk'], tokenAuth: true })).json.key as string;
      const user = await created('/admin/users', { login: 'grid-user', keys: ['grid-token'], sessionExpiresAt: '2026-02-01T00:00:00Z' });
      const password = user.json.password as string;
      expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(user.json).toMatchObject({ login: 'grid-user', keys: ['grid-token'], sessionExpiresAt: '2026-02-01T00:00:00.000Z', expired: false });

      expect((await read(key)).json).toMatchObject({ error: 'session_token_missing' });
      const token = await headerLogin(key, 'grid-user', password);
      expect((await read(key, token)).status).toBe(200);
      expect((await write(key, token)).status).toBe(200);
      expect(t.upstream.requests.every((r) => !r.url.includes(key))).toBe(true);

      expect((await admin('GET', '/admin/users/grid-user')).json).toMatchObject({ liveSessions: 1 });
      const inUse = await admin('DELETE', '/admin/keys/grid-token');
      expect(inUse.status).toBe(409);
      expect(inUse.json).toMatchObject({ error: 'in_use', liveSessions: 1 });
      expect((await read(key, token)).status).toBe(200);

      const deleted = await admin('DELETE', '/admin/users/grid-user');
      expect(deleted.status, deleted.text).toBe(200);
      expect(deleted.json).toEqual({ deleted: 'grid-user', sessionsEnded: 1 });
      expect((await read(key, token)).status).toBe(401);
      expect((await admin('GET', '/admin/sessions?keyId=grid-token')).json.sessions).toEqual([]);
      expect((await admin('GET', '/admin/sessions?user=grid-user')).json.sessions).toEqual([]);
      const again = await pcrLoginRequest(t.url, key, 'grid-user', { password });
      expect(again.status).toBe(401);
      expect(again.json).toMatchObject({ error: 'login_failed' });

      // With no session left, the key can go without force.
      expect((await admin('DELETE', '/admin/keys/grid-token')).json).toEqual({ deleted: 'grid-token', sessionsEnded: 0 });
    });

    it("moving a user's session expiration date into the past refuses its session on the next request", async () => {
      const key = (await created('/admin/keys', { id: 'grid-expiring', read: ['servicedesk'], tokenAuth: true })).json.key as string;
      await created('/admin/users', { login: 'grid-expiring-user', keys: ['grid-expiring'], password: 'expiring-user-password', sessionExpiresAt: new Date(FROZEN_EPOCH + DAY).toISOString() });
      const token = await headerLogin(key, 'grid-expiring-user', 'expiring-user-password');
      expect((await read(key, token)).status).toBe(200);

      const past = new Date(FROZEN_EPOCH - 60_000).toISOString();
      const patched = await admin('PATCH', '/admin/users/grid-expiring-user', { sessionExpiresAt: past });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.json).toMatchObject({ sessionExpiresAt: past, expired: true, version: 2 });
      expect((await admin('PATCH', '/admin/users/grid-expiring-user', { keys: ['grid-rw'] })).status).toBe(400);

      const refused = await read(key, token);
      expect(refused.status).toBe(401);
      expect(refused.json).toMatchObject({ error: 'user_disabled' });
      expect((await pcrLoginRequest(t.url, key, 'grid-expiring-user', { password: 'expiring-user-password' })).status).toBe(401);
    });

    it('an API access client and a managed operator get tokens; losing API access and deleting the client refuse them', async () => {
      const client = await created('/admin/clients', { id: 'grid-client', description: 'grid API access', accessTokenTtl: '30m' });
      const secret = client.json.secret as string;
      expect(client.json).toMatchObject({ id: 'grid-client', accessTokenTtl: '30m', refreshTokenTtl: '8h', grants: ['password', 'refresh_token'] });
      const operator = await created('/admin/operators', { login: 'grid-op', password: 'grid-op-password', apiAccess: true, teams: ['field-service', 'network'], organizations: ['acme'], features: ['tickets'] });
      expect(operator.json).not.toHaveProperty('password');
      const auth = { authorization: basicAuth('grid-client', secret) };

      const granted = await login(t.url, { username: 'grid-op', password: 'grid-op-password' }, { id: 'grid-client', secret });
      expect(granted.status, JSON.stringify(granted.body)).toBe(200);
      expect(granted.body['expires_in']).toBe(1800);
      const refreshed = await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: granted.body['refresh_token'] as string }, auth);
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      const access = refreshed.body['access_token'] as string;
      const refresh = refreshed.body['refresh_token'] as string;

      const used = await bearerGet(t.url, access, '/api/dashboard');
      expect(used.status, used.text).toBe(200);
      expect(t.upstream.requests.at(-1)!.headers).toMatchObject({
        'x-portcullis-user': 'grid-op',
        'x-portcullis-client-id': 'grid-client',
        'x-portcullis-teams': 'field-service,network',
        'x-portcullis-organizations': 'acme',
        'x-portcullis-features': 'tickets',
      });
      expect((await admin('GET', '/admin/clients/grid-client')).json).toMatchObject({ liveGrants: 1 });
      expect((await admin('GET', '/admin/operators/grid-op')).json).toMatchObject({ liveGrants: 1 });

      const noAccess = await admin('PATCH', '/admin/operators/grid-op', { apiAccess: false });
      expect(noAccess.status, noAccess.text).toBe(200);
      expect(noAccess.json).toMatchObject({ apiAccess: false, version: 2 });
      const refused = await bearerGet(t.url, access, '/api/dashboard');
      expect(refused.status).toBe(401);
      expect(refused.json).toMatchObject({ reason: 'operator_disabled' });

      const deleted = await admin('DELETE', '/admin/clients/grid-client');
      expect(deleted.status, deleted.text).toBe(200);
      expect(deleted.json.deleted).toBe('grid-client');
      expect(deleted.json.grantsRevoked).toBeGreaterThanOrEqual(1);
      const families = (await admin('GET', '/admin/token-families?clientId=grid-client')).json.families as Array<{ revokedAt: string | null }>;
      expect(families.length).toBeGreaterThanOrEqual(1);
      for (const family of families) expect(family.revokedAt).not.toBeNull();
      const refreshAgain = await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: refresh }, auth);
      expect(refreshAgain.status).toBe(401);
      expect(refreshAgain.body).toMatchObject({ error: 'invalid_client' });
      expect((await admin('DELETE', '/admin/operators/grid-op')).json).toMatchObject({ deleted: 'grid-op', grantsRevoked: 0 });
    });

    it('shows config entries as source config, refuses to change or delete them, and keeps serving them', async () => {
      const grids: Array<[string, string, string]> = [
        ['keys', 'id', 'demo-rw'],
        ['users', 'login', 'api-user'],
        ['clients', 'id', 'public-api'],
        ['operators', 'login', 'my-operator'],
      ];
      for (const [grid, idField, id] of grids) {
        const listed = await admin('GET', `/admin/${grid}`);
        expect(listed.status).toBe(200);
        expect((listed.json[grid] as Array<Record<string, unknown>>).find((row) => row[idField] === id), grid).toMatchObject({ source: 'config', version: null });
        const one = await admin('GET', `/admin/${grid}/${id}`);
        expect(one.json).toMatchObject({ source: 'config', version: null });
        expect(one.headers.get('etag')).toBeNull();

        const patched = await admin('PATCH', `/admin/${grid}/${id}`, { description: 'changed' });
        expect(patched.status, `PATCH ${grid}/${id}`).toBe(409);
        expect(patched.json).toMatchObject({ error: 'declared_in_config' });
        const deleted = await admin('DELETE', `/admin/${grid}/${id}?force=true`);
        expect(deleted.status, `DELETE ${grid}/${id}`).toBe(409);
        expect(deleted.json).toMatchObject({ error: 'declared_in_config' });
        const clash = await admin('POST', `/admin/${grid}`, { [idField]: id });
        expect(clash.status, `POST ${grid} ${id}`).toBe(400);
      }
      expect((await login(t.url)).status).toBe(200);
      const token = await headerLogin(SECRETS.rwKey, 'api-user', SECRETS.apiUserPassword);
      expect((await pcrCall(t.url, SECRETS.rwKey, token)).status).toBe(200);
    });
  });
});
