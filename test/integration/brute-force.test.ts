// Brute-force protection on the two password checks (OAuth password grant and PCR header login), through the real
// proxy: thresholds per username and per client address, Retry-After, the window on the injected clock, and which
// address is counted when a client sends X-Forwarded-For with or without a trusted proxy in front.

import { randomInt } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { withPcr } from '../helpers/fixtures.js';
import type { Reply } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, DEMO_CLIENT_AUTH, login, tokenRequest, type TokenAnswer } from '../helpers/oauth.js';
import { pcrLoginRequest } from '../helpers/pcr.js';

const WINDOW_MS = 60_000;
const PASSWORD = SECRETS.operatorPassword;

function thresholds(config: Record<string, unknown>): void {
  config['protection'] = { bruteForce: { maxFailuresPerUser: 3, maxFailuresPerAddress: 10, window: '1m' } };
}

function passwordGrant(url: string, username: string, password: string, headers: Record<string, string> = {}): Promise<TokenAnswer> {
  return tokenRequest(url, { grant_type: 'password', scope: 'public-api', username, password }, { ...DEMO_CLIENT_AUTH, ...headers });
}

function randomAddress(): string {
  return `198.51.100.${randomInt(1, 255)}`;
}

function pcrLogin(url: string, output: string, username: string, password: string): Promise<Reply> {
  return pcrLoginRequest(url, SECRETS.rwKey, username, { password, output });
}

const t = testProxyForSuite(withPcr(thresholds));

// Every test starts with forgotten counters: the address counter is shared by all of them (same loopback peer).
beforeEach(() => {
  t.clock.advance(WINDOW_MS + 1000);
});

describe('OAuth password grant', () => {
  it('after 3 wrong passwords the 4th attempt is 429 with Retry-After, even with the right password', async () => {
    for (let i = 0; i < 3; i++) {
      const failed = await passwordGrant(t.url, 'my-operator', 'wrong-password');
      expect(failed.status).toBe(400);
      expect(failed.body).toMatchObject({ error: 'invalid_grant' });
    }
    const blocked = await login(t.url);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('60');
    expect(blocked.body).toEqual({ error: 'too_many_requests', error_description: 'too many failed attempts; try again later' });
    expect(blocked.body).not.toHaveProperty('access_token');

    // Retry-After counts down with the clock; the window ends where it said it would.
    t.clock.advance(30_000);
    expect((await login(t.url)).headers.get('retry-after')).toBe('30');
    t.clock.advance(30_000);
    const allowed = await login(t.url);
    expect(allowed.status).toBe(200);
    expect(allowed.body).toHaveProperty('access_token');
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('a blocked username does not block other usernames from the same address', async () => {
    for (let i = 0; i < 3; i++) expect((await passwordGrant(t.url, 'my-operator', 'wrong-password')).status).toBe(400);
    expect((await login(t.url)).status).toBe(429);
    const other = await passwordGrant(t.url, 'no-api-operator', PASSWORD);
    // The password is checked (and right): this operator is merely not allowed on the API, which is answered
    // like a wrong password, and not with the other username's 429.
    expect(other.status).toBe(400);
    expect(other.body).toEqual({ error: 'invalid_grant', error_description: 'invalid username or password' });
  });

  it('a successful login clears the user counter', async () => {
    for (let i = 0; i < 2; i++) expect((await passwordGrant(t.url, 'my-operator', 'wrong-password')).status).toBe(400);
    expect((await login(t.url)).status).toBe(200);
    // Two more failures: had the counter survived, the next attempt would be the blocked fourth.
    for (let i = 0; i < 2; i++) expect((await passwordGrant(t.url, 'my-operator', 'wrong-password')).status).toBe(400);
    expect((await login(t.url)).status).toBe(200);
  });

  it('the 429 is the same for an existing and an unknown username', async () => {
    for (const username of ['my-operator', 'nobody-by-this-name']) {
      for (let i = 0; i < 3; i++) expect((await passwordGrant(t.url, username, 'wrong-password')).status).toBe(400);
    }
    const existing = await passwordGrant(t.url, 'my-operator', PASSWORD);
    const unknown = await passwordGrant(t.url, 'nobody-by-this-name', PASSWORD);
    for (const reply of [existing, unknown]) expect(reply.status).toBe(429);
    expect(unknown.body).toEqual(existing.body);
    const shape = (r: TokenAnswer) => ({ retryAfter: r.headers.get('retry-after'), type: r.headers.get('content-type'), length: r.headers.get('content-length') });
    expect(shape(unknown)).toEqual(shape(existing));
    expect(JSON.stringify(existing.body)).not.toMatch(/my-operator|nobody|exist|unknown/i);
  });

  it('per-address threshold: 10 failures with 10 different usernames block the address for every username', async () => {
    for (let i = 0; i < 10; i++) expect((await passwordGrant(t.url, `guess-${i}`, 'wrong-password')).status).toBe(400);
    const blocked = await login(t.url);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // The same address is refused on the PCR face too: the address counter is shared.
    expect((await pcrLogin(t.url, 'json', 'api-user', SECRETS.apiUserPassword)).status).toBe(429);
    t.clock.advance(WINDOW_MS);
    expect((await login(t.url)).status).toBe(200);
  });

  it('a wrong client secret counts against the address, not against the username', async () => {
    const wrongClient = { authorization: basicAuth('public-api', 'not-the-secret') };
    for (let i = 0; i < 3; i++) {
      const reply = await tokenRequest(t.url, { grant_type: 'password', username: 'my-operator', password: PASSWORD }, wrongClient);
      expect(reply.status).toBe(401);
    }
    expect((await login(t.url)).status).toBe(200);
  });

  it('parallel guesses get no more password checks than the per-user limit', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => passwordGrant(t.url, 'my-operator', 'wrong-password')));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([400, 400, 400, 429, 429, 429, 429, 429]);
    expect((await login(t.url)).status).toBe(429);
  });

  it('parallel logins with the right password all succeed, beyond the per-user limit', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => login(t.url)));
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
  });

  it('a spoofed X-Forwarded-For from an untrusted peer neither resets nor changes the per-address count', async () => {
    for (let i = 0; i < 10; i++) {
      const reply = await passwordGrant(t.url, `spoof-${i}`, 'wrong-password', { 'x-forwarded-for': randomAddress() });
      expect(reply.status).toBe(400);
    }
    for (let i = 0; i < 3; i++) {
      const reply = await passwordGrant(t.url, 'my-operator', PASSWORD, { 'x-forwarded-for': randomAddress(), 'x-real-ip': randomAddress() });
      expect(reply.status).toBe(429);
    }
    expect((await login(t.url)).status).toBe(429);
  });
});

describe('PCR header login', () => {
  const WRONG = 'wrong-password';

  it('after 3 wrong passwords the 4th login is 429 in the requested format, until the window ends', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await pcrLogin(t.url, 'json', 'api-user', WRONG);
      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.text)).toMatchObject({ error: 'login_failed' });
    }
    const xml = await pcrLogin(t.url, 'xml', 'api-user', SECRETS.apiUserPassword);
    expect(xml.status).toBe(429);
    expect(xml.headers.get('retry-after')).toBe('60');
    expect(xml.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(xml.text).toContain('<error>rate_limited</error>');
    expect(xml.text).not.toContain('<token>');

    const php = await pcrLogin(t.url, 'php', 'api-user', SECRETS.apiUserPassword);
    expect(php.status).toBe(429);
    expect(php.text).toContain('s:5:"error";s:12:"rate_limited";');

    const json = await pcrLogin(t.url, 'json', 'api-user', SECRETS.apiUserPassword);
    expect(json.status).toBe(429);
    expect(JSON.parse(json.text)).toMatchObject({ status: 'error', code: 429, error: 'rate_limited' });

    t.clock.advance(WINDOW_MS);
    const allowed = await pcrLogin(t.url, 'json', 'api-user', SECRETS.apiUserPassword);
    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.text)).toMatchObject({ status: 'success' });
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('the PCR and OAuth faces count usernames separately', async () => {
    for (let i = 0; i < 3; i++) expect((await pcrLogin(t.url, 'json', 'my-operator', WRONG)).status).toBe(401);
    expect((await pcrLogin(t.url, 'json', 'my-operator', WRONG)).status).toBe(429);
    expect((await login(t.url)).status).toBe(200);
  });

  it('a successful login clears the user counter', async () => {
    for (let i = 0; i < 2; i++) expect((await pcrLogin(t.url, 'json', 'api-user', WRONG)).status).toBe(401);
    expect((await pcrLogin(t.url, 'json', 'api-user', SECRETS.apiUserPassword)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await pcrLogin(t.url, 'json', 'api-user', WRONG)).status).toBe(401);
    expect((await pcrLogin(t.url, 'json', 'api-user', SECRETS.apiUserPassword)).status).toBe(200);
  });

  it('parallel guesses get no more password checks than the per-user limit', async () => {
    const replies = await Promise.all(Array.from({ length: 6 }, () => pcrLogin(t.url, 'json', 'api-user', WRONG)));
    expect(replies.map((r) => r.status).sort()).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it('the 429 is the same for an existing and an unknown API user', async () => {
    for (const user of ['api-user', 'nobody-by-this-name']) for (let i = 0; i < 3; i++) await pcrLogin(t.url, 'json', user, WRONG);
    const existing = await pcrLogin(t.url, 'json', 'api-user', SECRETS.apiUserPassword);
    const unknown = await pcrLogin(t.url, 'json', 'nobody-by-this-name', SECRETS.apiUserPassword);
    expect(existing.status).toBe(429);
    expect(unknown.status).toBe(429);
    expect(unknown.text).toBe(existing.text);
    expect(unknown.headers.get('retry-after')).toBe(existing.headers.get('retry-after'));
  });
});

describe('behind a trusted proxy', () => {
  const trusted = testProxyForSuite({
    edit(config) {
      thresholds(config);
      config['listen'] = { ...(config['listen'] as object), trustedProxies: ['127.0.0.1'] };
    },
  });

  it('counts the X-Forwarded-For address: different client addresses have separate counters', async () => {
    const attacker = '203.0.113.7';
    const bystander = '203.0.113.8';
    for (let i = 0; i < 10; i++) {
      expect((await passwordGrant(trusted.url, `guess-${i}`, 'wrong-password', { 'x-forwarded-for': attacker })).status).toBe(400);
    }
    expect((await passwordGrant(trusted.url, 'my-operator', PASSWORD, { 'x-forwarded-for': attacker })).status).toBe(429);
    // The load balancer's chain ends with the address it saw; earlier entries are the client's to invent.
    expect((await passwordGrant(trusted.url, 'my-operator', PASSWORD, { 'x-forwarded-for': `10.9.9.9, ${attacker}` })).status).toBe(429);
    expect((await passwordGrant(trusted.url, 'my-operator', PASSWORD, { 'x-forwarded-for': bystander })).status).toBe(200);
    expect((await passwordGrant(trusted.url, 'my-operator', PASSWORD, { 'x-forwarded-for': `${attacker}, ${bystander}` })).status).toBe(200);
    // Without the header, the peer (the load balancer itself) has its own, untouched counter.
    expect((await passwordGrant(trusted.url, 'my-operator', PASSWORD)).status).toBe(200);
  });

  it('the per-user counter still spans every address', async () => {
    trusted.clock.advance(WINDOW_MS + 1000);
    for (let i = 0; i < 3; i++) {
      expect((await passwordGrant(trusted.url, 'my-operator', 'wrong-password', { 'x-forwarded-for': randomAddress() })).status).toBe(400);
    }
    expect((await passwordGrant(trusted.url, 'my-operator', PASSWORD, { 'x-forwarded-for': '192.0.2.44' })).status).toBe(429);
  });
});
