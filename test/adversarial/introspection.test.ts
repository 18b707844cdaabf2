// The introspection and revocation endpoints under attack: callers without the right to introspect use it as a
// token-validity oracle, guess admin tokens or client secrets, present another client's token at revoke, or send
// bodies built to hurt the parser. None of it may tell whether a token is live, change anything it should not,
// or answer with internals.

import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { send, type Reply } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, bearerGet, DEMO_CLIENT_AUTH, login } from '../helpers/oauth.js';
import { pcrLogin } from '../helpers/pcr.js';
import { withPcr } from '../helpers/fixtures.js';
import { exchange, expectNoInternals, http11 } from './support.js';

const INTROSPECTOR_AUTH = basicAuth('resource-server', SECRETS.clientSecret);

const t = testProxyForSuite(
  withPcr((config) => {
    const section = config['oauth'] as { clients: Record<string, unknown>[] };
    section.clients.push({ id: 'resource-server', secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '1h', grants: ['password'], introspect: true });
    config['protection'] = { bruteForce: { maxFailuresPerAddress: 6, maxFailuresPerUser: 5, window: '15m' } };
  }),
);

function post(path: string, form: Record<string, string>, headers: Record<string, string>): Promise<Reply> {
  return send(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() });
}

/** What a caller can observe of an answer: status, body and the headers that are not about the moment. */
function observable(reply: Reply) {
  const headers = Object.fromEntries([...reply.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id'));
  return { status: reply.status, body: reply.text, headers };
}

async function liveAccessToken(): Promise<string> {
  const answer = await login(t.url);
  expect(answer.status).toBe(200);
  return answer.body['access_token'] as string;
}

describe('introspection is no oracle for callers without the right to it', () => {
  it('answers a live and a made-up token identically to an anonymous caller and to a client not allowed to introspect', async () => {
    const live = await liveAccessToken();
    const session = await pcrLogin(t.url);
    for (const headers of [{}, DEMO_CLIENT_AUTH, { authorization: `Bearer ${live}` }]) {
      const answers = await Promise.all([live, session, 'made-up-token'].map((token) => post('/oauth/introspect', { token }, headers)));
      const [first, ...rest] = answers.map(observable);
      expect(first!.status).not.toBe(200);
      for (const other of rest) expect(other).toEqual(first);
      for (const answer of answers) expect(answer.text).not.toMatch(/active/);
    }
  });

  it('counts guessed admin tokens and client secrets towards the address limit, then refuses even the right one', async () => {
    // A fresh window: earlier tests' guesses count towards the same address.
    t.clock.advance(16 * 60_000);
    const live = await liveAccessToken();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('/oauth/introspect', { token: live }, { authorization: `Bearer guess-${i}` })).status);
    for (let i = 0; i < 3; i++) statuses.push((await post('/oauth/introspect', { token: live }, { authorization: basicAuth('resource-server', `guess-${i}`) })).status);
    expect(statuses.slice(0, 6)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(statuses[6]).toBe(429);
    const locked = await post('/oauth/introspect', { token: live }, { authorization: INTROSPECTOR_AUTH });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toMatch(/^\d+$/);
    t.clock.advance(16 * 60_000);
    expect((await post('/oauth/introspect', { token: await liveAccessToken() }, { authorization: INTROSPECTOR_AUTH })).json).toMatchObject({ active: true });
  });
});

describe('revocation of what is not yours', () => {
  it('refuses another client\'s token and leaves it live; forged and foreign tokens change nothing', async () => {
    const theirs = await login(t.url, {}, { id: 'password-only', secret: SECRETS.clientSecret });
    const token = theirs.body['access_token'] as string;
    const refused = await post('/oauth/revoke', { token }, DEMO_CLIENT_AUTH);
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual({ error: 'unauthorized_client', error_description: 'the token was not issued to this client' });
    expect((await post('/oauth/introspect', { token }, { authorization: INTROSPECTOR_AUTH })).json).toMatchObject({ active: true, client_id: 'password-only' });

    // A PCR session token is not an OAuth client's to revoke: 200 per RFC 7009 §2.2, and the session lives on.
    const session = await pcrLogin(t.url);
    expect((await post('/oauth/revoke', { token: session }, DEMO_CLIENT_AUTH)).status).toBe(200);
    expect((await post('/oauth/introspect', { token: session }, { authorization: INTROSPECTOR_AUTH })).json).toMatchObject({ active: true, token_type: 'pcr_session' });
    expect((await bearerGet(t.url, token)).status).toBe(200);
  });
});

describe('bodies built to hurt the parser', () => {
  it('answers every one with an OAuth error or an inactive token, never internals', async () => {
    const bodies = [
      'token=%E0%A4%A',
      'token=%00%00',
      `token=${'%41'.repeat(5000)}`,
      'token=a&token=b',
      'token[]=a',
      `token=${encodeURIComponent('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')}`,
      'token=' + encodeURIComponent(`${'A'.repeat(22)}.${'B'.repeat(43)}`),
      '=' + 'x'.repeat(100),
    ];
    for (const body of bodies) {
      const { response } = await exchange(
        t,
        http11('POST', '/oauth/introspect', [['Authorization', INTROSPECTOR_AUTH], ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(Buffer.byteLength(body))]], body),
      );
      expect([200, 400], body.slice(0, 30)).toContain(response.status);
      if (response.status === 200) expect(JSON.parse(response.body), body.slice(0, 30)).toEqual({ active: false });
      expectNoInternals(response.body, body.slice(0, 30));
    }
  });
});
