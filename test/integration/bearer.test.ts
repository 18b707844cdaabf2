// Bearer access to protected routes (RFC 6750): what the upstream receives for a good token, and every way a
// token or Authorization header is refused, with nothing reaching the upstream on a refusal.

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHmac, createPublicKey, sign } from 'node:crypto';
import { SignJWT, decodeJwt } from 'jose';
import { generateSigningKey } from '../../src/tokens/keyring.js';
import { OPERATOR_IDENTITY, SIGNING_KEY_PEM, baseConfig, loadTestConfig } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { accessClaims, b64url, signWithTestKey } from '../helpers/jwt.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { expectErrorBody } from './error-answers.js';

const t = testProxyForSuite();
/** Upstream requests before the test's refusals; a refusal must not add any. */
let forwardedBefore = 0;
/** A grant the store knows: hand-made tokens name it, so only the claim or header under test is wrong. */
let family: string;

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return accessClaims(t.clock.now(), { fid: family, ...overrides });
}

async function forged(overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return `Bearer ${await signWithTestKey(claims(overrides), header)}`;
}

function api(authorization?: string, path = '/api/dashboard'): Promise<Reply> {
  return send(`${t.url}${path}`, { headers: authorization === undefined ? {} : { authorization } });
}

function raw(headerLines: string[], path = '/api/dashboard'): Promise<RawResponse> {
  return rawRequest(t.port, `GET ${path} HTTP/1.1\r\nHost: portal\r\n${headerLines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
}

/** A 401 with an RFC 6750 invalid_token challenge and our reason id. */
function expectInvalidToken(reply: Reply, reason?: string): void {
  expect(reply.status, reply.text).toBe(401);
  expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer realm="portcullis", error="invalid_token", error_description="[^"]+"$/);
  expectErrorBody(reply.json, 'invalid_token');
  if (reason !== undefined) expect(reply.json.reason).toBe(reason);
}

function expectNothingForwarded(): void {
  expect(t.upstream.requests.length, 'a refused request reached the upstream').toBe(forwardedBefore);
}

beforeAll(async () => {
  family = decodeJwt(await accessToken(t.url))['fid'] as string;
});

resetBeforeEachTest(t, { clock: true });

beforeEach(() => {
  forwardedBefore = 0;
});

describe('a valid access token', () => {
  it('is forwarded with trusted identity headers and without the credential', async () => {
    const token = await accessToken(t.url);
    const reply = await send(`${t.url}/api/dashboard`, {
      headers: { authorization: `Bearer ${token}`, 'cache-control': 'no-cache', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' },
    });
    expect(reply.status).toBe(200);
    expect(t.upstream.requests).toHaveLength(1);
    const seen = t.upstream.requests[0]!;
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/api/dashboard');
    expect(seen.headers['authorization']).toBeUndefined();
    expect(seen.rawHeaders.join('\n')).not.toContain(token);
    expect(seen.headers).toMatchObject({ ...OPERATOR_IDENTITY, 'cache-control': 'no-cache' });
    // The client's forwarding headers are replaced, not appended to: it is not a trusted proxy.
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(t.url).host);
    expect(seen.rawHeaders.filter((h) => h.toLowerCase() === 'x-forwarded-for')).toHaveLength(1);
  });

  it('is accepted whatever the case of the scheme', async () => {
    const token = await accessToken(t.url);
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect((await api(`${scheme} ${token}`)).status, scheme).toBe(200);
    }
  });

  it('is cached once verified: later requests with it succeed from the cache', async () => {
    const token = await accessToken(t.url);
    expect((await api(`Bearer ${token}`)).status).toBe(200);
    const hits = t.proxy.runtime.accessTokens.cache.hits;
    expect((await api(`Bearer ${token}`)).status).toBe(200);
    expect(t.proxy.runtime.accessTokens.cache.hits).toBe(hits + 1);
  });

  it('works until the second before exp, then is refused with token_expired', async () => {
    const used = await accessToken(t.url);
    const unused = await accessToken(t.url);
    t.clock.advance(3600_000 - 1000);
    expect((await api(`Bearer ${used}`)).status).toBe(200);
    forwardedBefore = t.upstream.requests.length;
    t.clock.advance(1000);
    // One verified before and cached, one seen for the first time after its expiry.
    expectInvalidToken(await api(`Bearer ${used}`), 'token_expired');
    expectInvalidToken(await api(`Bearer ${unused}`), 'token_expired');
    expectNothingForwarded();
  });
});

describe('requests without a usable Authorization header', () => {
  it('answers no credentials with 401 and a challenge without an error code (RFC 6750 §3.1)', async () => {
    const reply = await api();
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="portcullis"');
    expect(reply.json).toMatchObject({ reason: 'credentials_missing' });
    expectNothingForwarded();
  });

  it('answers a malformed Bearer header with 400 invalid_request', async () => {
    const token = await accessToken(t.url);
    for (const header of ['Bearer', 'Bearer ', 'Bearer a b', `Bearer ${token} extra`, `Bearer\t${token}`, 'Bearer "quoted"']) {
      const reply = await raw([`Authorization: ${header}`]);
      expect(reply.status, JSON.stringify(header)).toBe(400);
      expectErrorBody(JSON.parse(reply.body), 'invalid_request');
    }
    expectNothingForwarded();
  });

  it('answers two Authorization headers with 400, even when both hold the valid token', async () => {
    const token = await accessToken(t.url);
    const reply = await raw([`Authorization: Bearer ${token}`, `Authorization: Bearer ${token}`]);
    expect(reply.status).toBe(400);
    expectErrorBody(JSON.parse(reply.body), 'invalid_request');
    expectNothingForwarded();
  });

  it('answers another scheme (Basic) with 401 and a Bearer challenge', async () => {
    const reply = await api(`Basic ${Buffer.from('my-operator:my-operator-password').toString('base64')}`);
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer realm="portcullis"/);
    expect(reply.json).toMatchObject({ reason: 'scheme_unsupported' });
    expectNothingForwarded();
  });

  it('answers garbage tokens with 401 invalid_token', async () => {
    for (const token of ['dcb00798-e844-40b9-9fcf-fbe0b0fe7b25', 'a.b.c', 'a.b', 'a..c', `${'A'.repeat(9000)}.B.C`, 'e30.e30.e30']) {
      expectInvalidToken(await api(`Bearer ${token}`));
    }
    expectNothingForwarded();
  });
});

describe('forged and invalid tokens', () => {
  it('accepts a hand-signed token with valid claims, so the refusals below are about the one thing changed', async () => {
    expect((await api(await forged())).status).toBe(200);
  });

  it('refuses alg "none" in any spelling, with or without a signature', async () => {
    const payload = b64url(claims());
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const header = b64url({ alg, kid: 'test-key-1', typ: 'at+jwt' });
      for (const token of [`${header}.${payload}.`, `${header}.${payload}.${b64url('sig')}`]) {
        expectInvalidToken(await api(`Bearer ${token}`));
      }
    }
    expectNothingForwarded();
  });

  it('refuses a token signed by another RSA key that claims our kid', async () => {
    const impostor = generateSigningKey('RS256', 'test-key-1');
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt' })
      .sign(impostor.privateKey);
    expectInvalidToken(await api(`Bearer ${token}`), 'token_signature_invalid');
    expectNothingForwarded();
  });

  it('refuses an HS256 token keyed with our public key (algorithm confusion)', async () => {
    const publicPem = createPublicKey(SIGNING_KEY_PEM).export({ format: 'pem', type: 'spki' }) as string;
    const signingInput = `${b64url({ alg: 'HS256', kid: 'test-key-1', typ: 'at+jwt' })}.${b64url(claims())}`;
    for (const secret of [publicPem, publicPem.trim()]) {
      const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
      expectInvalidToken(await api(`Bearer ${signingInput}.${signature}`), 'token_algorithm_invalid');
    }
    expectNothingForwarded();
  });

  it('refuses header members it does not write (jwk, jku, crit) and other token types', async () => {
    expectInvalidToken(await api(await forged({}, { jku: 'https://evil.example/jwks.json' })), 'token_header_invalid');
    // jose refuses to write a crit it does not understand, so this one is signed by hand.
    const critInput = `${b64url({ alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt', crit: ['exp'] })}.${b64url(claims())}`;
    const critSignature = sign('sha256', Buffer.from(critInput), SIGNING_KEY_PEM).toString('base64url');
    expectInvalidToken(await api(`Bearer ${critInput}.${critSignature}`), 'token_header_invalid');
    expectInvalidToken(await api(await forged({}, { typ: 'JWT' })), 'token_type_invalid');
    expectInvalidToken(await api(await forged({}, { kid: 'other-key' })), 'token_unknown_key');
    expectNothingForwarded();
  });

  it('refuses a correctly signed token whose grant the store does not know', async () => {
    expectInvalidToken(await api(await forged({ fid: 'never-issued-family-000' })), 'token_revoked');
    expectNothingForwarded();
  });

  it('refuses iat or nbf more than the 30 s leeway in the future', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    expect((await api(await forged({ iat: now + 30 }))).status, 'within the leeway').toBe(200);
    forwardedBefore = t.upstream.requests.length;
    expectInvalidToken(await api(await forged({ iat: now + 31 })), 'token_not_yet_valid');
    expectInvalidToken(await api(await forged({ nbf: now + 120 })), 'token_not_yet_valid');
    expectNothingForwarded();
  });

  it('refuses a wrong issuer or audience', async () => {
    expectInvalidToken(await api(await forged({ iss: 'someone-else' })), 'token_issuer_invalid');
    expectInvalidToken(await api(await forged({ aud: 'other-api' })), 'token_audience_invalid');
    expectInvalidToken(await api(await forged({ aud: ['itsm-api', 'other-api'] })), 'token_audience_invalid');
    expectNothingForwarded();
  });

  it('refuses an expired hand-signed token and one missing required claims', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    expectInvalidToken(await api(await forged({ iat: now - 7200, exp: now - 1 })), 'token_expired');
    const { jti: _jti, ...withoutJti } = claims();
    expectInvalidToken(await api(`Bearer ${await signWithTestKey(withoutJti)}`), 'token_claims_invalid');
    const { fid: _fid, ...withoutFamily } = claims();
    expectInvalidToken(await api(`Bearer ${await signWithTestKey(withoutFamily)}`), 'token_claims_invalid');
    expectNothingForwarded();
  });

  it('refuses a correctly signed token for an operator without API access or unknown to the config', async () => {
    expectInvalidToken(await api(await forged({ sub: 'no-api-operator' })), 'operator_disabled');
    expectInvalidToken(await api(await forged({ sub: 'ghost' })), 'operator_disabled');
    expectInvalidToken(await api(await forged({ client_id: 'ghost-client' })), 'client_disabled');
    expectNothingForwarded();
  });

  it('answers a token without the public-api scope with 403 insufficient_scope', async () => {
    const reply = await api(await forged({ scope: 'other' }));
    expect(reply.status).toBe(403);
    expect(reply.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expectErrorBody(reply.json, 'insufficient_scope');
    expectNothingForwarded();
  });
});

describe('operators changed by a reload', () => {
  afterEach(async () => {
    await t.proxy.reload(await loadTestConfig(baseConfig(t.upstream.url)));
  });

  it('refuses tokens of an operator whose API access was turned off or who was removed', async () => {
    const token = await accessToken(t.url);
    expect((await api(`Bearer ${token}`)).status).toBe(200);
    forwardedBefore = t.upstream.requests.length;

    const apiAccessOff = baseConfig(t.upstream.url);
    (apiAccessOff['operators'] as Array<Record<string, unknown>>)[0]!['apiAccess'] = false;
    await t.proxy.reload(await loadTestConfig(apiAccessOff));
    expectInvalidToken(await api(`Bearer ${token}`), 'operator_disabled');

    const removed = baseConfig(t.upstream.url);
    removed['operators'] = (removed['operators'] as Array<Record<string, unknown>>).slice(1);
    await t.proxy.reload(await loadTestConfig(removed));
    expectInvalidToken(await api(`Bearer ${token}`), 'operator_disabled');
    expectNothingForwarded();
  });
});
