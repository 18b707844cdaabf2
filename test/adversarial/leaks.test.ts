// Information leaks. Every kind of refusal the proxy makes is provoked with real credentials and hostile input in
// play; then no answer (status line, headers, body), no log line and no metric may carry a secret, a key, a
// token, a stack trace, a source path, a library's message or an upstream address, and a failed login must read
// the same whether the account exists or not.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { SECRETS } from '../fixtures/secrets.js';
import { startRawUpstream, type RawUpstream } from '../helpers/echo-upstream.js';
import { PCR_ENV, SIGNING_KEY_PEM, withoutBruteForce, withPcr } from '../helpers/fixtures.js';
import { b64url, decodePart, signRaw } from '../helpers/jwt.js';
import { basicAuth, login } from '../helpers/oauth.js';
import { pcrLogin } from '../helpers/pcr.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { expectNoInternals, http11, type HeaderList } from './support.js';

const random = (): string => randomBytes(9).toString('base64url');
const wrongPassword = `wrong-${random()}`;
const unknownUser = `nobody-${random()}`;

let t: TestProxy;
let down: TestProxy;
let broken: TestProxy;
let brokenUpstream: RawUpstream;
const secrets: string[] = [
  SECRETS.clientSecret,
  SECRETS.operatorPassword,
  SECRETS.apiUserPassword,
  SECRETS.adminToken,
  SECRETS.rwKey,
  SECRETS.roKey,
  PCR_ENV.PCR_LEGACY_KEY,
  PCR_ENV.PCR_UPSTREAM_KEY,
  PCR_ENV.PCR_SHORT_KEY,
  wrongPassword,
  basicAuth('public-api', SECRETS.clientSecret).slice('Basic '.length),
  // Any line of the private key's body.
  SIGNING_KEY_PEM.split('\n')[5]!,
];
const answers: Array<{ what: string; text: string }> = [];

function record(what: string, response: RawResponse): RawResponse {
  answers.push({ what, text: response.raw });
  return response;
}

async function raw(what: string, proxy: TestProxy, bytes: string): Promise<RawResponse> {
  return record(what, await rawRequest(proxy.port, bytes, { timeoutMs: 3000 }));
}

beforeAll(async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  const pcr = withPcr(withoutBruteForce);
  t = await startTestProxy({ ...pcr, hooks: metrics.hooks() });
  down = await startTestProxy({
    upstream: t.upstream,
    edit(config) {
      config['upstream'] = { url: 'http://127.0.0.1:9', timeout: '1s', connectTimeout: '500ms' };
    },
  });
  brokenUpstream = await startRawUpstream((socket) => socket.once('data', () => socket.end('HTTP/1.1 200 O\x01K\r\nX-Secret: internal\r\n\r\n', 'latin1')));
  broken = await startTestProxy({
    upstream: t.upstream,
    edit(config) {
      config['upstream'] = { url: brokenUpstream.url, timeout: '1s', connectTimeout: '500ms' };
    },
  });

  // Credentials in play: issued tokens, a refresh token, a PCR session token.
  const granted = await login(t.url);
  const access = granted.body['access_token'] as string;
  const refresh = granted.body['refresh_token'] as string;
  const sessionToken = await pcrLogin(t.url);
  secrets.push(access, refresh, sessionToken);
  const forgedNone = `${b64url({ alg: 'none', kid: 'test-key-1', typ: 'at+jwt' })}.${access.split('.')[1]!}.`;
  const wrongAudience = signRaw({ alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt' }, { ...decodePart(access, 1), aud: 'elsewhere' });
  const bearer = (token: string): HeaderList => [['Authorization', `Bearer ${token}`]];
  const form = (body: string, headers: HeaderList = [['Authorization', basicAuth('public-api', SECRETS.clientSecret)]]) =>
    http11('POST', '/oauth/token', [...headers, ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(Buffer.byteLength(body))]], body);

  // The bearer face and the request shape.
  await raw('ambiguous path', t, http11('GET', '/api/%2e%2e/x'));
  await raw('too long path', t, http11('GET', `/api/${'x'.repeat(9000)}`));
  await raw('unknown route', t, http11('GET', '/nowhere'));
  await raw('absolute form', t, http11('GET', 'http://127.0.0.1:1/api/x'));
  await raw('missing credentials', t, http11('GET', `/api/tickets?access_token=${access}&password=${SECRETS.operatorPassword}`));
  await raw('malformed bearer', t, http11('GET', '/api/tickets', [['Authorization', `Bearer\t${access}`]]));
  await raw('alg none', t, http11('GET', '/api/tickets', bearer(forgedNone)));
  await raw('wrong audience', t, http11('GET', '/api/tickets', bearer(wrongAudience)));
  await raw('refresh token as bearer', t, http11('GET', '/api/tickets', bearer(refresh)));
  await raw('session token as bearer', t, http11('GET', '/api/tickets', bearer(sessionToken)));
  await raw('bearer with a key', t, http11('GET', `/api/${SECRETS.roKey}/servicedesk.json`, bearer(access)));
  await raw('garbage request', t, 'GARBAGE / NOT-HTTP\r\n\r\n');
  await raw('oversize headers', t, http11('GET', '/api/x', [['X-Big', 'b'.repeat(20_000)]]));
  await raw('bad framing', t, http11('POST', '/api/x', [['Content-Length', '1'], ['Transfer-Encoding', 'chunked']], '0\r\n\r\n'));
  // The token endpoint.
  await raw('wrong client secret', t, form('grant_type=password&username=my-operator&password=x', [['Authorization', basicAuth('public-api', wrongPassword)]]));
  await raw('unknown client', t, form('grant_type=password', [['Authorization', basicAuth(unknownUser, SECRETS.clientSecret)]]));
  await raw('wrong password', t, form(`grant_type=password&username=my-operator&password=${wrongPassword}`));
  await raw('unknown user', t, form(`grant_type=password&username=${unknownUser}&password=${SECRETS.operatorPassword}`));
  await raw('broken form', t, form('grant_type=password&username=%E0%A4%A'));
  await raw('json body', t, http11('POST', '/oauth/token', [['Content-Type', 'application/json'], ['Content-Length', '15']], '{"grant_type":]'));
  await raw('reused refresh token', t, form(`grant_type=refresh_token&refresh_token=${refresh}`));
  await raw('replayed refresh token', t, form(`grant_type=refresh_token&refresh_token=${refresh}`));
  await raw('huge token body', t, form('x='.padEnd(20_000, 'y')));
  await raw('unsupported grant', t, form(`grant_type=client_credentials&client_secret=${SECRETS.clientSecret}`, []));
  // The PCR face, in every output format.
  for (const output of ['json', 'xml', 'php']) {
    await raw(`invalid key ${output}`, t, http11('GET', `/api/${SECRETS.roKey}x/servicedesk.${output}`));
    await raw(`write on read-only ${output}`, t, http11('POST', `/api/${SECRETS.roKey}/servicedesk.${output}`, [['Content-Length', '0']]));
    await raw(`login failed ${output}`, t, http11('POST', `/api/${SECRETS.rwKey}/authlogin.${output}`, [['PCR-AUTH-USERNAME', 'api-user'], ['PCR-AUTH-PASSWORD', wrongPassword]]));
    await raw(`session token invalid ${output}`, t, http11('GET', `/api/${SECRETS.rwKey}/servicedesk.${output}`, [['PCR-AUTH-TOKEN', access]]));
  }
  await raw('a lone key segment', t, http11('GET', `/api/${SECRETS.roKey}?page=1`));
  await raw('a lone key segment with a bearer token', t, http11('GET', `/api/${PCR_ENV.PCR_LEGACY_KEY}`, bearer(access)));
  await raw('login without headers', t, http11('POST', `/api/${SECRETS.rwKey}/authlogin.json`, [['Content-Length', '0']]));
  await raw('login with GET', t, http11('GET', `/api/${SECRETS.rwKey}/authlogin.json`));
  // Upstream failures.
  await raw('upstream unreachable', down, http11('GET', '/', [['Connection', 'close']]));
  await raw('upstream invalid', broken, http11('GET', '/', [['Connection', 'close']]));
});

afterAll(async () => {
  await Promise.all([t.close(), down.close(), broken.close()]);
  await brokenUpstream.close();
});

describe('answers', () => {
  it('cover every refusal class (sanity check of the setup)', () => {
    const statuses = new Set(answers.map((a) => /^HTTP\/1\.1 (\d{3})/.exec(a.text)?.[1]));
    for (const status of ['400', '401', '403', '404', '405', '413', '414', '431', '502']) expect(statuses, `no ${status} answer was provoked`).toContain(status);
  });

  it('carry no secret, key or token', () => {
    for (const { what, text } of answers) {
      for (const secret of secrets) expect(text.includes(secret), `${what} echoes a credential`).toBe(false);
    }
  });

  it('carry no stack trace, source path, library message or upstream address', () => {
    for (const { what, text } of answers) {
      expectNoInternals(text, what);
      expect(text, what).not.toMatch(/x-powered-by|X-Secret|internal/i);
    }
  });
});

describe('log lines', () => {
  it('carry no secret, key or token', () => {
    expect(t.logLines.length).toBeGreaterThan(30);
    for (const line of [...t.logLines, ...down.logLines, ...broken.logLines]) {
      for (const secret of secrets) expect(line.includes(secret), `a credential was logged: ${line}`).toBe(false);
    }
  });

  it('carry no stack trace, source path, library message or upstream address', () => {
    for (const line of [...t.logLines, ...down.logLines, ...broken.logLines]) {
      const parsed = JSON.parse(line) as { msg: string };
      // The start-up line names the listeners on purpose.
      if (parsed.msg === 'listening') continue;
      expectNoInternals(line, 'log line');
    }
  });
});

describe('metrics', () => {
  it('carry no secret, no user name and no path', async () => {
    const text = await (await fetch(`${t.proxy.adminUrl}/metrics`)).text();
    expect(text).toContain('portcullis_denials_total');
    for (const secret of [...secrets, 'my-operator', 'api-user', unknownUser, '/api/', 'servicedesk.json']) {
      expect(text.includes(secret), `metrics carry ${secret.slice(0, 20)}`).toBe(false);
    }
    expectNoInternals(text, 'metrics');
  });
});

/** What a client can compare between two failed logins: status, headers other than Date, and body. */
function comparable(response: RawResponse): unknown {
  const { date: _date, ...headers } = response.headers;
  return { status: response.status, headers, body: response.body };
}

describe('whether an account exists', () => {
  const tokenForm = (body: string, authorization = basicAuth('public-api', SECRETS.clientSecret)) =>
    http11('POST', '/oauth/token', [['Authorization', authorization], ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)]], body);

  it('the OAuth password grant answers an unknown operator exactly like a wrong password', async () => {
    const seen = [
      await rawRequest(t.port, tokenForm(`grant_type=password&username=${unknownUser}&password=${wrongPassword}`)),
      await rawRequest(t.port, tokenForm(`grant_type=password&username=my-operator&password=${wrongPassword}`)),
      await rawRequest(t.port, tokenForm(`grant_type=password&username=no-api-operator&password=${wrongPassword}`)),
      await rawRequest(t.port, tokenForm(`grant_type=password&username=${unknownUser}&password=${SECRETS.operatorPassword}`)),
    ].map(comparable);
    expect((seen[0] as { status: number }).status).toBe(400);
    for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);
  });

  it('client authentication answers an unknown client exactly like a wrong secret', async () => {
    const body = 'grant_type=password&username=my-operator&password=x';
    const seen = [
      await rawRequest(t.port, tokenForm(body, basicAuth(unknownUser, SECRETS.clientSecret))),
      await rawRequest(t.port, tokenForm(body, basicAuth('public-api', wrongPassword))),
    ].map(comparable);
    expect((seen[0] as { status: number }).status).toBe(401);
    expect(seen[1]).toEqual(seen[0]);
  });

  it.each(['json', 'xml', 'php'])('PCR login (%s) answers an unknown user, a wrong password and another key\'s user alike', async (output) => {
    const loginWith = (key: string, user: string, password: string) =>
      rawRequest(t.port, http11('POST', `/api/${key}/authlogin.${output}`, [['PCR-AUTH-USERNAME', user], ['PCR-AUTH-PASSWORD', password]]));
    const seen = [
      await loginWith(SECRETS.rwKey, unknownUser, wrongPassword),
      await loginWith(SECRETS.rwKey, 'api-user', wrongPassword),
      await loginWith(SECRETS.rwKey, unknownUser, SECRETS.apiUserPassword),
      // expiring-user exists and the password is right, but the user is not on this key.
      await loginWith(PCR_ENV.PCR_SHORT_KEY, 'expiring-user', SECRETS.apiUserPassword),
    ].map(comparable);
    expect((seen[0] as { status: number }).status).toBe(401);
    for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);
  });
});
