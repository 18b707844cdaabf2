// Two proxy processes sharing one Redis, as two replicas behind a load balancer: an API key, an API user and an
// OAuth client created, narrowed and deleted through one replica's admin API take effect on the other within a
// second, including the sessions and grants the deletion ends.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, type Reply } from '../helpers/http.js';
import { basicAuth, bearerGet, login, tokenRequest, type TokenAnswer } from '../helpers/oauth.js';
import { pcrCall, pcrLoginRequest } from '../helpers/pcr.js';
import { eventually, sharedRedisUrl } from '../helpers/redis.js';
import { startReplicaPair, type Replica, type ReplicaPair } from '../helpers/replicas.js';
import { SECRETS } from '../fixtures/secrets.js';

const redisUrl = sharedRedisUrl();
const PROPAGATION_MS = 1000;

/** Polls `check` until it passes; fails unless it passed within a second of the call. */
async function withinASecond<T>(check: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const value = await eventually(check, PROPAGATION_MS, 25);
  expect(performance.now() - started).toBeLessThan(PROPAGATION_MS);
  return value;
}

function expectStatus(reply: Reply | TokenAnswer, status: number): void {
  expect(reply.status, 'text' in reply ? reply.text : JSON.stringify(reply.body)).toBe(status);
}

describe.skipIf(redisUrl === null)('managed credentials across two replicas sharing one Redis', () => {
  let a: Replica;
  let b: Replica;
  let pair: ReplicaPair | undefined;

  function admin(replica: Replica, method: string, path: string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = { authorization: `Bearer ${SECRETS.adminToken}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return send(replica.adminUrl + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  }

  async function changed(replica: Replica, method: string, path: string, body: unknown, status: number): Promise<Reply> {
    const reply = await admin(replica, method, path, body);
    expectStatus(reply, status);
    return reply;
  }

  beforeAll(async () => {
    // Polling logins of a user the other replica has not heard of yet must not lock that user out.
    pair = await startReplicaPair(redisUrl!, 'managed-propagation', (config) => {
      config['protection'] = { bruteForce: { enabled: false } };
    });
    ({ a, b } = pair);
  }, 30_000);

  afterAll(async () => {
    await pair?.stop();
  });

  it("a key and its user created on A work on B, a Write removed on A is refused on B, and a forced delete on A ends B's sessions", async () => {
    const key = (await changed(a, 'POST', '/admin/keys', { id: 'spread-key', read: ['servicedesk'], write: ['servicedesk'], tokenAuth: true }, 201)).json.key as string;
    await changed(a, 'POST', '/admin/users', { login: 'spread-user', keys: ['spread-key'], password: 'spread-user-password' }, 201);
    const write = (token: string) => pcrCall(b.url, key, token, 'servicedesk.json', 'POST');

    const token = await withinASecond(async () => {
      const reply = await pcrLoginRequest(b.url, key, 'spread-user', { password: 'spread-user-password' });
      expectStatus(reply, 200);
      return reply.json.token as string;
    });
    expectStatus(await pcrCall(b.url, key, token), 200);
    expectStatus(await write(token), 200);
    expect(pair!.upstream.requests.some((request) => request.url.includes(key))).toBe(false);

    await changed(a, 'PATCH', '/admin/keys/spread-key', { write: [] }, 200);
    await withinASecond(async () => {
      const refused = await write(token);
      expectStatus(refused, 403);
      expect(refused.json).toMatchObject({ error: 'key_lacks_write' });
    });
    expectStatus(await pcrCall(b.url, key, token), 200);

    expect((await admin(a, 'DELETE', '/admin/keys/spread-key')).json).toMatchObject({ error: 'in_use', liveSessions: 1 });
    expect((await changed(a, 'DELETE', '/admin/keys/spread-key?force=true', undefined, 200)).json).toEqual({ deleted: 'spread-key', sessionsEnded: 1 });
    await withinASecond(async () => {
      const refused = await pcrCall(b.url, key, token);
      expectStatus(refused, 401);
      expect(refused.json).toMatchObject({ error: 'api_key_invalid' });
    });
    expect((await admin(b, 'GET', '/admin/sessions?keyId=spread-key')).json.sessions).toEqual([]);
    expect((await admin(b, 'GET', '/admin/keys/spread-key')).status).toBe(404);
    await changed(a, 'DELETE', '/admin/users/spread-user', undefined, 200);
  });

  it("an OAuth client created on A issues tokens on B, a grant taken away on A is refused on B, and a delete on A revokes B's grants", async () => {
    const secret = (await changed(a, 'POST', '/admin/clients', { id: 'spread-client' }, 201)).json.secret as string;
    const client = { id: 'spread-client', secret };
    const refreshOnB = (refreshToken: string) => tokenRequest(b.url, { grant_type: 'refresh_token', refresh_token: refreshToken }, { authorization: basicAuth(client.id, client.secret) });

    const granted = await withinASecond(async () => {
      const answer = await login(b.url, {}, client);
      expectStatus(answer, 200);
      return answer;
    });
    const access = granted.body['access_token'] as string;
    expectStatus(await bearerGet(b.url, access, '/api/dashboard'), 200);
    expect(pair!.upstream.requests.at(-1)!.headers['x-portcullis-client-id']).toBe('spread-client');
    const rotated = await refreshOnB(granted.body['refresh_token'] as string);
    expectStatus(rotated, 200);

    await changed(a, 'PATCH', '/admin/clients/spread-client', { grants: ['password'] }, 200);
    await withinASecond(async () => {
      const refused = await refreshOnB(rotated.body['refresh_token'] as string);
      expectStatus(refused, 400);
      expect(refused.body['error']).toBe('unauthorized_client');
    });
    const rotatedAccess = rotated.body['access_token'] as string;
    expectStatus(await bearerGet(b.url, rotatedAccess, '/api/dashboard'), 200);

    const deleted = await changed(a, 'DELETE', '/admin/clients/spread-client', undefined, 200);
    expect(deleted.json.deleted).toBe('spread-client');
    expect(deleted.json.grantsRevoked).toBeGreaterThanOrEqual(1);
    await withinASecond(async () => {
      const refused = await bearerGet(b.url, rotatedAccess, '/api/dashboard');
      expectStatus(refused, 401);
    });
    await withinASecond(async () => {
      const refused = await login(b.url, {}, client);
      expectStatus(refused, 401);
      expect(refused.body['error']).toBe('invalid_client');
    });
    const families = (await admin(b, 'GET', '/admin/token-families?clientId=spread-client')).json.families as Array<{ revokedAt: string | null }>;
    expect(families.length).toBeGreaterThanOrEqual(1);
    for (const family of families) expect(family.revokedAt).not.toBeNull();
  });
});
