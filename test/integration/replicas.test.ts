// Two proxy processes sharing one Redis, as two replicas behind a load balancer: a credential issued by one works
// on the other, and a logout, a refresh-token reuse or an admin revocation on one takes effect on the other.
// A third, in-process proxy started after a revocation shows that a replica which never saw the event refuses
// the token anyway.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { claimsOf } from '../helpers/jwt.js';
import { bearerGet, login, refreshGrant } from '../helpers/oauth.js';
import { pcrCall, pcrLogin, pcrLogout } from '../helpers/pcr.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { sharedRedisUrl } from '../helpers/redis.js';
import { startReplicaPair, type Replica, type ReplicaPair } from '../helpers/replicas.js';
import { SECRETS } from '../fixtures/secrets.js';

const redisUrl = sharedRedisUrl();

function pcrUse(url: string, sessionToken: string): Promise<Reply> {
  return pcrCall(url, SECRETS.rwKey, sessionToken);
}

/** Polls until `request` answers `status`; returns how long that took, or fails after `timeoutMs`. */
async function untilStatus(request: () => Promise<Reply>, status: number, timeoutMs = 2000, everyMs = 50): Promise<number> {
  const started = performance.now();
  let last: Reply | undefined;
  while (performance.now() - started < timeoutMs) {
    last = await request();
    if (last.status === status) return performance.now() - started;
    await sleep(everyMs);
  }
  throw new Error(`still ${last?.status} after ${timeoutMs} ms: ${last?.text}`);
}

describe.skipIf(redisUrl === null)('two replicas sharing one Redis', () => {
  let a: Replica;
  let b: Replica;
  let pair: ReplicaPair | undefined;

  beforeAll(async () => {
    pair = await startReplicaPair(redisUrl!, 'replicas');
    ({ a, b } = pair);
  }, 30_000);

  afterAll(async () => {
    await pair?.stop();
  });

  it('a PCR session opened on A works on B, and a logout on B ends it on A', async () => {
    const session = await pcrLogin(a.url);
    expect((await pcrUse(b.url, session)).status).toBe(200);
    expect((await pcrUse(a.url, session)).status).toBe(200);
    const logout = await pcrLogout(b.url, SECRETS.rwKey, { 'PCR-AUTH-TOKEN': session });
    expect(logout.status, logout.text).toBe(200);
    await untilStatus(() => pcrUse(a.url, session), 401, 1000);
    expect((await pcrUse(b.url, session)).status).toBe(401);
  });

  it('a refresh token reused on B revokes the whole family on both', async () => {
    const granted = await login(a.url);
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    const rotated = await refreshGrant(a.url, granted.body['refresh_token'] as string);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const access = rotated.body['access_token'] as string;
    // Both replicas have verified and cached the token before the revocation.
    expect((await bearerGet(a.url, access)).status).toBe(200);
    expect((await bearerGet(b.url, access)).status).toBe(200);

    const reused = await refreshGrant(b.url, granted.body['refresh_token'] as string);
    expect(reused.status).toBe(400);
    expect(reused.body['error']).toBe('invalid_grant');

    const next = await refreshGrant(a.url, rotated.body['refresh_token'] as string);
    expect(next.status).toBe(400);
    expect(next.body['error']).toBe('invalid_grant');
    for (const url of [a.url, b.url]) {
      await untilStatus(() => bearerGet(url, access), 401, 1000);
      expect((await bearerGet(url, access)).json.reason).toBe('token_revoked');
      // The first access token of the family was never used: refused on its very first (cold) check too.
      expect((await bearerGet(url, granted.body['access_token'] as string)).json.reason).toBe('token_revoked');
    }
  });

  it("revoking a key's sessions through A's admin API reaches B within a second", async () => {
    const session = await pcrLogin(b.url);
    expect((await pcrUse(b.url, session)).status).toBe(200);
    const revoked = await send(`${a.adminUrl}/admin/sessions?keyId=demo-rw`, { method: 'DELETE', headers: { authorization: `Bearer ${SECRETS.adminToken}` } });
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.json.revoked).toContain(claimsOf(session)['sid']);
    const elapsed = await untilStatus(() => pcrUse(b.url, session), 401, 1000, 50);
    expect(elapsed).toBeLessThan(1000);
  });

  describe('a replica started after a revocation', () => {
    let late: TestProxy | undefined;

    afterAll(async () => {
      await late?.close();
    });

    it('refuses a revoked family it never heard of, and still accepts a live one', async () => {
      const revokedGrant = await login(a.url);
      const liveGrant = await login(b.url);
      expect([revokedGrant.status, liveGrant.status]).toEqual([200, 200]);
      const family = claimsOf(revokedGrant.body['access_token'] as string)['fid'] as string;
      const revoked = await send(`${a.adminUrl}/admin/token-families/${family}`, { method: 'DELETE', headers: { authorization: `Bearer ${SECRETS.adminToken}` } });
      expect(revoked.status, revoked.text).toBe(200);

      // In-process, so it is certain to have started after the event was published.
      late = await startTestProxy({
        ...withPcr((config) => {
          config['store'] = { type: 'redis', url: redisUrl, keyPrefix: pair!.prefix };
        }),
        clock: new ManualClock(Date.now()),
      });
      const refused = await bearerGet(late.url, revokedGrant.body['access_token'] as string);
      expect(refused.status).toBe(401);
      expect(refused.json.reason).toBe('token_revoked');
      expect((await bearerGet(late.url, liveGrant.body['access_token'] as string)).status).toBe(200);
    });
  });
});
