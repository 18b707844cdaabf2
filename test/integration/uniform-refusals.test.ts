// Every refusal of a login before anything is issued reads the same on the wire, byte for byte (status, headers
// but Date, body): the OAuth password grant for an unknown login, a wrong password and an operator without the
// API right (right password or not); PCR-360 header login for an unknown user, a wrong password, a user of another
// key and a user past its session expiry date; client authentication for an unknown client and a wrong secret.
// The lockout sequence is the same for all of them too. Only the log line and the metric name the real reason.

import { beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { hashSecret, parseSecretHash } from '../../src/secrets/hash.js';
import { SecretVerifier } from '../../src/secrets/verifier.js';
import { SECRETS } from '../fixtures/secrets.js';
import { FROZEN_EPOCH, PCR_ENV, withPcr } from '../helpers/fixtures.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth } from '../helpers/oauth.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';

const WINDOW_MS = 60_000;
const MAX_PER_USER = 3;
const WRONG = 'wrong-password-123';

const metrics = new Metrics({ defaultMetrics: false });
const t = testProxyForSuite({
  ...withPcr((config) => {
    // The address limit is out of the way: this suite makes many failed attempts from one address on purpose.
    config['protection'] = { bruteForce: { maxFailuresPerUser: MAX_PER_USER, maxFailuresPerAddress: 10_000, window: '1m' } };
  }),
  hooks: metrics.hooks(),
});

// Each test starts with forgotten counters; the clock only moves forward, so expiring-user (12:30) expires on the way.
beforeEach(() => {
  t.clock.advance(WINDOW_MS + 1000);
});

function request(method: string, target: string, headers: [string, string][], body = ''): string {
  const all = [['Host', 'portal.example'], ...headers, ...(body === '' ? [] : [['Content-Length', String(body.length)]]), ['Connection', 'close']];
  return `${method} ${target} HTTP/1.1\r\n${all.map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n${body}`;
}

/** What a client can compare between two answers: everything but the Date header. */
function comparable(response: RawResponse): { status: number | null; headers: Record<string, string>; body: string } {
  const { date: _date, ...headers } = response.headers;
  return { status: response.status, headers, body: response.body };
}

function passwordGrant(username: string, password: string, client = basicAuth('public-api', SECRETS.clientSecret)): Promise<RawResponse> {
  const body = new URLSearchParams({ grant_type: 'password', scope: 'public-api', username, password }).toString();
  return rawRequest(t.port, request('POST', '/oauth/token', [['Authorization', client], ['Content-Type', 'application/x-www-form-urlencoded']], body));
}

function clientCredentials(authorization: string): Promise<RawResponse> {
  const body = 'grant_type=client_credentials';
  return rawRequest(t.port, request('POST', '/oauth/token', [['Authorization', authorization], ['Content-Type', 'application/x-www-form-urlencoded']], body));
}

function headerLogin(key: string, username: string, password: string, output = 'json'): Promise<RawResponse> {
  return rawRequest(t.port, request('POST', `/api/${key}/authlogin.${output}`, [['PCR-AUTH-USERNAME', username], ['PCR-AUTH-PASSWORD', password]]));
}

/** The reasons of the newest `count` request lines of `route`, once they are all written. */
async function loggedReasons(route: string, count: number): Promise<unknown[]> {
  const lines = () => t.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === 'request' && line['route'] === route);
  let reasons: unknown[] = [];
  await expect.poll(() => (reasons = lines().map((line) => line['reason'])).length).toBeGreaterThanOrEqual(count);
  return reasons.slice(-count);
}

async function counter(name: string, reason: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`reason="${reason}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

function expectAllAlike(answers: RawResponse[]): void {
  const [first, ...rest] = answers.map(comparable);
  for (const [i, other] of rest.entries()) expect(other, `answer ${i + 2} differs from the first`).toEqual(first);
}

describe('the OAuth password grant', () => {
  it('answers an unknown login, a wrong password and an operator without the API right identically', async () => {
    const before = await counter('portcullis_token_request_failures_total', 'operator_api_access_off');
    const answers = [
      await passwordGrant('nobody-by-this-name', SECRETS.operatorPassword),
      await passwordGrant('my-operator', WRONG),
      await passwordGrant('no-api-operator', SECRETS.operatorPassword),
      await passwordGrant('no-api-operator', WRONG),
    ];
    expectAllAlike(answers);
    const first = comparable(answers[0]!);
    expect(first.status).toBe(400);
    expect(JSON.parse(first.body)).toEqual({ error: 'invalid_grant', error_description: 'invalid username or password' });
    // No reason id, login or hint travels in the answer: only in the log line and the metric.
    expect(JSON.stringify(first)).not.toMatch(/login_failed|api_access|operator|nobody/);
    expect(await loggedReasons('oauth-token', 4)).toEqual(['login_failed', 'login_failed', 'operator_api_access_off', 'login_failed']);
    expect(await counter('portcullis_token_request_failures_total', 'operator_api_access_off')).toBe(before + 1);
  });

  it('locks out after the same number of attempts whichever the refusal, a right password without the API right too', async () => {
    const sequence = async (username: string, password: string) => {
      const statuses: (number | null)[] = [];
      for (let i = 0; i <= MAX_PER_USER; i++) statuses.push((await passwordGrant(username, password)).status);
      return statuses;
    };
    const expected = [...Array<number>(MAX_PER_USER).fill(400), 429];
    expect(await sequence('no-api-operator', SECRETS.operatorPassword)).toEqual(expected);
    expect(await sequence('my-operator', WRONG)).toEqual(expected);
    expect(await sequence('nobody-by-this-name', WRONG)).toEqual(expected);
    // And the lockouts read alike too.
    expectAllAlike([await passwordGrant('no-api-operator', SECRETS.operatorPassword), await passwordGrant('my-operator', SECRETS.operatorPassword), await passwordGrant('nobody-by-this-name', WRONG)]);
  });
});

describe('PCR-360 header login', () => {
  it.each(['json', 'xml', 'php'])('answers (%s) an unknown user, a wrong password, another key\'s user and an expired user identically', async (output) => {
    t.clock.set(Math.max(t.clock.now(), FROZEN_EPOCH + 31 * 60_000));
    const before = await counter('portcullis_pcr_logins_total', 'user_disabled');
    const answers = [
      await headerLogin(SECRETS.rwKey, 'nobody-by-this-name', SECRETS.apiUserPassword, output),
      await headerLogin(SECRETS.rwKey, 'api-user', WRONG, output),
      // expiring-user exists and the password is right, but it is not on the short key.
      await headerLogin(PCR_ENV.PCR_SHORT_KEY, 'expiring-user', SECRETS.apiUserPassword, output),
      // On its own key, right password, but its session expiry date (12:30) has passed.
      await headerLogin(SECRETS.rwKey, 'expiring-user', SECRETS.apiUserPassword, output),
      await headerLogin(SECRETS.rwKey, 'expiring-user', WRONG, output),
    ];
    expectAllAlike(answers);
    const first = comparable(answers[0]!);
    expect(first.status).toBe(401);
    expect(first.body).toContain('login_failed');
    expect(first.body).not.toMatch(/user_disabled|user_not_on_key|expir/);
    expect(await loggedReasons('pcr-login', 5)).toEqual(['login_failed', 'login_failed', 'user_not_on_key', 'user_disabled', 'login_failed']);
    expect(await counter('portcullis_pcr_logins_total', 'user_disabled')).toBe(before + 1);
  });

  it('locks out an expired user with the right password like a wrong password', async () => {
    t.clock.set(Math.max(t.clock.now(), FROZEN_EPOCH + 31 * 60_000));
    const sequence = async (username: string, password: string) => {
      const statuses: (number | null)[] = [];
      for (let i = 0; i <= MAX_PER_USER; i++) statuses.push((await headerLogin(SECRETS.rwKey, username, password)).status);
      return statuses;
    };
    const expected = [...Array<number>(MAX_PER_USER).fill(401), 429];
    expect(await sequence('expiring-user', SECRETS.apiUserPassword)).toEqual(expected);
    expect(await sequence('api-user', WRONG)).toEqual(expected);
    // The right password of a user in good standing is still accepted once its own counter is clear.
    t.clock.advance(WINDOW_MS + 1000);
    expect((await headerLogin(SECRETS.rwKey, 'api-user', SECRETS.apiUserPassword)).status).toBe(200);
  });

  it('still tells a bad key apart: that is the key, not the password', async () => {
    const unknownKey = await headerLogin('not-a-key-0123456789abcdef', 'api-user', SECRETS.apiUserPassword);
    expect(unknownKey.status).toBe(401);
    expect(unknownKey.body).toContain('api_key_invalid');
    // And it says the same whatever the user and password.
    expect(comparable(await headerLogin('not-a-key-0123456789abcdef', 'nobody', WRONG))).toEqual(comparable(unknownKey));
  });
});

describe('client authentication', () => {
  it('answers an unknown client and a wrong secret identically for client credentials and the password grant', async () => {
    const answers = [
      await clientCredentials(basicAuth('no-such-client', SECRETS.clientSecret)),
      await clientCredentials(basicAuth('public-api', WRONG)),
      await passwordGrant('my-operator', SECRETS.operatorPassword, basicAuth('no-such-client', SECRETS.clientSecret)),
      await passwordGrant('my-operator', SECRETS.operatorPassword, basicAuth('public-api', WRONG)),
    ];
    expectAllAlike(answers);
    const first = comparable(answers[0]!);
    expect(first.status).toBe(401);
    expect(first.headers['www-authenticate']).toBe('Basic realm="portcullis", charset="UTF-8"');
    expect(JSON.parse(first.body)).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(await loggedReasons('oauth-token', 4)).toEqual(['client_unknown', 'client_secret_invalid', 'client_unknown', 'client_secret_invalid']);
  });

  it('answers unauthorized_client only once the secret is proven', async () => {
    const notAllowed = comparable(await clientCredentials(basicAuth('public-api', SECRETS.clientSecret)));
    expect(notAllowed.status).toBe(400);
    expect(JSON.parse(notAllowed.body)).toEqual({ error: 'unauthorized_client', error_description: 'this client may not use the client_credentials grant' });
  });
});

describe('the cost of a refusal', () => {
  it('a right password that is refused anyway is checked in full every time, never answered from remembered successes', async () => {
    const text = await hashSecret(SECRETS.operatorPassword);
    const stored = { text, parsed: parseSecretHash(text)! };
    const verifier = new SecretVerifier();
    const timed = async (options: { rememberSuccess?: boolean }) => {
      const start = performance.now();
      const ok = await verifier.verify(SECRETS.operatorPassword, stored, options);
      return { ok, ms: performance.now() - start };
    };
    expect((await timed({})).ok).toBe(true);
    const remembered = await timed({});
    const full = await timed({ rememberSuccess: false });
    const wrong = performance.now();
    expect(await verifier.verify(WRONG, stored, { rememberSuccess: false })).toBe(false);
    const wrongMs = performance.now() - wrong;
    expect(full.ok).toBe(true);
    // scrypt takes milliseconds, a remembered success microseconds; the refused right password pays like a wrong one.
    expect(full.ms).toBeGreaterThan(Math.max(2, remembered.ms * 10));
    expect(full.ms).toBeGreaterThan(wrongMs / 4);
  });
});
