// Tokens of external identity providers (`externalIssuers`, the external-jwt authenticator): real JWKS servers on
// port 0 in front of which the real proxy fetches keys, tokens signed with jose and with jsonwebtoken, and the
// ways a JWKS endpoint fails (down, slow, junk, huge, too many keys) answered within bounds. Every issuer here has
// its own key-set state, so each scenario gets an issuer of its own; the frozen clock only moves forward.

import { createHmac, createPublicKey } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import { exportPKCS8 } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ExternalJwtFaceInstance } from '../../src/faces/external-jwt/face.js';
import { Metrics } from '../../src/observability/metrics.js';
import { baseConfig, loadTestConfig } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { ISS, keys, manyKeys, servers, startProviders, stopProviders, withExternalIssuers, type IssuerName } from '../helpers/external-providers.js';
import { externalClaims, handMade, issuerKey, signExternal, type IssuerKey } from '../helpers/jwks-server.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import { expectErrorBody } from './error-answers.js';

beforeAll(startProviders);
afterAll(stopProviders);

const metrics = new Metrics({ defaultMetrics: false });
const t = testProxyForSuite(() => ({ edit: withExternalIssuers, hooks: metrics.hooks() }));

beforeEach(() => t.upstream.reset());

const claims = (name: IssuerName, overrides: Record<string, unknown> = {}) => externalClaims(ISS(name), t.clock.now(), overrides);
const token = (key: IssuerKey, name: IssuerName, overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  signExternal(key, claims(name, overrides), header);

/** Upstream requests before the latest call: a refusal must not add any. */
let forwardedBefore = 0;

function call(bearer: string, path = '/ext/tickets'): Promise<Reply> {
  forwardedBefore = t.upstream.requests.length;
  return send(`${t.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
}

function expectRefused(reply: Reply, reason: string): void {
  expect(reply.status, reply.text).toBe(401);
  expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer realm="portcullis", error="invalid_token", error_description="[^"]+"$/);
  expectErrorBody(reply.json, 'invalid_token');
  expect(reply.json.reason).toBe(reason);
  expect(t.upstream.requests, 'a refused request reached the upstream').toHaveLength(forwardedBefore);
}

function expectUnavailable(reply: Reply): void {
  expect(reply.status, reply.text).toBe(503);
  expect(reply.json).toMatchObject({ error: 'service_unavailable', reason: 'issuer_keys_unavailable' });
  expect(reply.headers.get('retry-after')).toBe('30');
  expect(t.upstream.requests).toHaveLength(forwardedBefore);
}

function faceIssuer(name: IssuerName) {
  const face = t.proxy.runtime.faces.find((f) => f.id === 'external-jwt') as ExternalJwtFaceInstance;
  return face.issuers.find((issuer) => issuer.config.name === name)!;
}

describe('a valid external token', () => {
  it('reaches the upstream with identity headers from its claims and without the credential', async () => {
    const bearer = await token(keys['a-1']!, 'idp-a', { sub: 'alice@corp', azp: 'ticket-cli', groups: ['service-desk', 'net,work', 'network'], org: 'acme', scope: 'public-api read' });
    const reply = await send(`${t.url}/api/dashboard`, { headers: { authorization: `Bearer ${bearer}`, 'x-portcullis-issuer': 'idp-b', 'x-portcullis-user': 'mallory' } });
    expect(reply.status, reply.text).toBe(200);
    const seen = t.upstream.requests[0]!;
    expect(seen.headers['authorization']).toBeUndefined();
    expect(seen.rawHeaders.join('\n')).not.toContain(bearer);
    // A team that cannot be carried in the list (a comma) is left out rather than split.
    expect(seen.headers).toMatchObject({ 'x-portcullis-auth': 'external-jwt', 'x-portcullis-issuer': 'idp-a', 'x-portcullis-user': 'alice@corp', 'x-portcullis-client-id': 'ticket-cli' });
    expect(seen.headers).toMatchObject({ 'x-portcullis-scope': 'public-api read', 'x-portcullis-teams': 'service-desk,network', 'x-portcullis-organizations': 'acme' });
    expect(seen.rawHeaders.filter((h) => h.toLowerCase() === 'x-portcullis-user')).toHaveLength(1);
  });

  it('is verified once, then answered from the issuer\'s cache', async () => {
    const bearer = await token(keys['a-1']!, 'idp-a');
    const issuer = faceIssuer('idp-a');
    expect((await call(bearer)).status).toBe(200);
    const hits = issuer.cache.hits;
    expect((await call(bearer)).status).toBe(200);
    expect(issuer.cache.hits).toBe(hits + 1);
  });

  it('is accepted when issued by a second JWT library (jsonwebtoken, RS256)', async () => {
    const pem = await exportPKCS8(keys['a-1']!.privateKey);
    const now = Math.floor(t.clock.now() / 1000);
    const bearer = jsonwebtoken.sign({ sub: 'bob', aud: 'itsm-api-2', iss: ISS('idp-a'), iat: now, exp: now + 600 }, pem, { algorithm: 'RS256', keyid: 'a-1' });
    const reply = await call(bearer);
    expect(reply.status, reply.text).toBe(200);
    expect(t.upstream.requests[0]!.headers['x-portcullis-user']).toBe('bob');
  });

  it('works with EC (ES256) and Ed25519 (EdDSA) keys where the issuer allows them', async () => {
    expect((await call(await token(keys['ec-1']!, 'idp-ec'))).status).toBe(200);
    expect((await call(await token(keys['ed-1']!, 'idp-ec'))).status).toBe(200);
  });
});

describe('audience, required claims and scope', () => {
  it('accepts a token whose aud holds any configured audience and refuses one for another service', async () => {
    expect((await call(await token(keys['a-1']!, 'idp-a', { aud: ['billing', 'itsm-api-2'] }))).status).toBe(200);
    expectRefused(await call(await token(keys['a-1']!, 'idp-a', { aud: ['billing', 'crm'] })), 'external_audience_mismatch');
    expectRefused(await call(await token(keys['a-1']!, 'idp-a', { aud: undefined })), 'external_audience_mismatch');
  });

  it('requires every required claim: present, equal, or one of the listed values (an array claim holding one)', async () => {
    const good = { tenant: 'acme', email_verified: true, amr: ['pwd', 'hwk'], sid: 'session-1', scp: 'openid public-api' };
    expect((await call(await token(keys['a-1']!, 'idp-strict', good))).status).toBe(200);
    expect((await call(await token(keys['a-1']!, 'idp-strict', { ...good, amr: 'mfa' }))).status).toBe(200);
    // `true` asks only for presence; `[true]` for the value true.
    expect((await call(await token(keys['a-1']!, 'idp-strict', { ...good, sid: 0 }))).status).toBe(200);
    for (const bad of [{ tenant: undefined }, { tenant: 'other' }, { email_verified: 'true' }, { amr: ['pwd'] }, { amr: undefined }, { sid: undefined }, { sid: null }]) {
      expectRefused(await call(await token(keys['a-1']!, 'idp-strict', { ...good, ...bad })), 'external_claim_missing');
    }
  });

  it('answers a token without the required scope with 403 insufficient_scope', async () => {
    const reply = await call(await token(keys['a-1']!, 'idp-strict', { tenant: 'acme', email_verified: true, amr: ['mfa'], sid: 's', scp: ['openid'] }));
    expect(reply.status).toBe(403);
    expect(reply.json).toMatchObject({ error: 'insufficient_scope', reason: 'scope_insufficient' });
  });

  it('refuses a token whose user claim is missing or could not be carried in a header', async () => {
    expectRefused(await call(await token(keys['a-1']!, 'idp-a', { sub: undefined })), 'external_claims_invalid');
    expectRefused(await call(await token(keys['a-1']!, 'idp-a', { sub: 'alice\r\nx-portcullis-user: root' })), 'external_claims_invalid');
  });
});

describe('time: exp, nbf and iat with the leeway (30s)', () => {
  it('accepts a token expired within the leeway and refuses one expired longer ago', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    expect((await call(await token(keys['a-1']!, 'idp-a', { iat: now - 600, exp: now - 20 }))).status).toBe(200);
    expectRefused(await call(await token(keys['a-1']!, 'idp-a', { iat: now - 600, exp: now - 31 })), 'external_token_expired');
  });

  it('refuses a token without exp', async () => {
    expectRefused(await call(await token(keys['a-1']!, 'idp-a', { exp: undefined })), 'external_claims_invalid');
  });

  it('accepts nbf and iat slightly in the future and refuses them further out', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    expect((await call(await token(keys['a-1']!, 'idp-a', { nbf: now + 20 }))).status).toBe(200);
    expectRefused(await call(await token(keys['a-1']!, 'idp-a', { nbf: now + 60 })), 'external_token_not_yet_valid');
    expectRefused(await call(await token(keys['a-1']!, 'idp-a', { iat: now + 60 })), 'external_token_not_yet_valid');
  });

  it('stops accepting a cached token once it expired', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    const bearer = await token(keys['a-1']!, 'idp-a', { exp: now + 60 });
    expect((await call(bearer)).status).toBe(200);
    t.clock.advance(60_000 + 30_000);
    expectRefused(await call(bearer), 'external_token_expired');
  });
});

describe('algorithms', () => {
  it('refuses an algorithm the issuer is not configured with, none, and HS256 keyed with the public key', async () => {
    const es = await issuerKey('a-1', 'ES256');
    expectRefused(await call(await signExternal(es, claims('idp-a'))), 'external_algorithm_refused');
    expectRefused(await call(handMade({ alg: 'none', kid: 'a-1' }, claims('idp-a'))), 'external_algorithm_refused');
    const pem = createPublicKey({ key: keys['a-1']!.jwk as never, format: 'jwk' }).export({ format: 'pem', type: 'spki' }) as string;
    for (const secret of [pem, JSON.stringify(keys['a-1']!.jwk), keys['a-1']!.jwk.n!]) {
      const header = { alg: 'HS256', kid: 'a-1', typ: 'JWT' };
      const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims('idp-a'))).toString('base64url')}`;
      const forged = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      expectRefused(await call(forged), 'external_algorithm_refused');
    }
  });
});

describe('which authenticator a token goes to', () => {
  it('refuses a token of an issuer nobody configured with 401 invalid_token', async () => {
    const stranger = await issuerKey('a-1');
    expectRefused(await call(await signExternal(stranger, externalClaims('https://stranger.example/', t.clock.now()))), 'issuer_unknown');
    const onApi = await call(await signExternal(stranger, externalClaims('https://stranger.example/', t.clock.now())), '/api/dashboard');
    expect(onApi.status).toBe(401);
    expect(onApi.json.error).toBe('invalid_token');
  });

  it('leaves tokens of our own issuer to the bearer authenticator, and never accepts them as external ones', async () => {
    const ours = await accessToken(t.url);
    const reply = await call(ours, '/api/dashboard');
    expect(reply.status).toBe(200);
    expect(t.upstream.requests[0]!.headers['x-portcullis-auth']).toBe('oauth');
    expectRefused(await call(ours, '/ext/tickets'), 'issuer_unknown');
  });

  it('refuses a token naming issuer A but signed with issuer B\'s key', async () => {
    expectRefused(await call(await token(keys['b-1']!, 'idp-a')), 'external_key_unknown');
    // B's key under A's kid: A's key verifies it, and the signature does not match.
    expectRefused(await call(await token(keys['b-1']!, 'idp-a', {}, { kid: 'a-1' })), 'external_token_invalid');
    expect((await call(await token(keys['b-1']!, 'idp-b'))).status).toBe(200);
  });
});

describe('key sets', () => {
  it('follows a key rotation once the cooldown allows a refetch, and then refuses the removed key', async () => {
    expect((await call(await token(keys['rot-1']!, 'idp-rotate'))).status).toBe(200);
    servers['idp-rotate'].serve([keys['rot-2']!]);
    const before = servers['idp-rotate'].fetches;
    // Within the cooldown the new kid is refused without a fetch; after it, one fetch brings the new key.
    expectRefused(await call(await token(keys['rot-2']!, 'idp-rotate')), 'external_key_unknown');
    expect(servers['idp-rotate'].fetches).toBe(before);
    t.clock.advance(31_000);
    expect((await call(await token(keys['rot-2']!, 'idp-rotate'))).status).toBe(200);
    expect(servers['idp-rotate'].fetches).toBe(before + 1);
    expectRefused(await call(await token(keys['rot-1']!, 'idp-rotate')), 'external_key_unknown');
  });

  it('refreshes a key set older than maxAge in the background while the old one keeps serving', async () => {
    expect((await call(await token(keys['rot-2']!, 'idp-rotate'))).status).toBe(200);
    const before = servers['idp-rotate'].fetches;
    t.clock.advance(11 * 60_000);
    expect((await call(await token(keys['rot-2']!, 'idp-rotate'))).status).toBe(200);
    await expect.poll(() => servers['idp-rotate'].fetches).toBe(before + 1);
  });

  it('costs at most one fetch per cooldown for a thousand tokens with made-up kids', async () => {
    expect((await call(await token(keys['a-1']!, 'idp-a'))).status).toBe(200);
    t.clock.advance(31_000);
    const before = servers['idp-a'].fetches;
    const statuses: number[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const tokens = Array.from({ length: 50 }, (_, i) => handMade({ alg: 'RS256', kid: `random-${batch}-${i}-${Math.random()}` }, claims('idp-a'), 'c2lnbmF0dXJl'));
      statuses.push(...(await Promise.all(tokens.map(async (bearer) => (await call(bearer)).status))));
    }
    expect(statuses.every((status) => status === 401)).toBe(true);
    expect(servers['idp-a'].fetches - before).toBeLessThanOrEqual(1);
    expect(t.upstream.requests).toHaveLength(1);
  });

  it('keeps the key set across a reload that leaves the issuer unchanged', async () => {
    expect((await call(await token(keys['a-1']!, 'idp-a'))).status).toBe(200);
    const keySet = faceIssuer('idp-a').keys;
    const raw = baseConfig(t.upstream.url);
    withExternalIssuers(raw);
    await t.proxy.reload(await loadTestConfig(raw));
    expect(faceIssuer('idp-a').keys).toBe(keySet);
    const before = servers['idp-a'].fetches;
    expect((await call(await token(keys['a-1']!, 'idp-a'))).status).toBe(200);
    expect(servers['idp-a'].fetches).toBe(before);
  });
});

describe('a JWKS endpoint that fails', () => {
  it('answers 503 issuer_keys_unavailable while no key set was ever fetched (nothing listens)', async () => {
    expectUnavailable(await call(await token(keys['a-1']!, 'idp-down')));
  });

  it('asks an endpoint that keeps failing at most once per cooldown', async () => {
    const before = servers['idp-failing'].fetches;
    for (let i = 0; i < 5; i++) expectUnavailable(await call(await token(keys['a-1']!, 'idp-failing')));
    expect(servers['idp-failing'].fetches - before).toBe(1);
    const exposed = await metrics.registry.getSingleMetricAsString('portcullis_jwks_fetches_total');
    expect(exposed).toContain('portcullis_jwks_fetches_total{issuer="idp-failing",outcome="http_status"} 1');
    expect(exposed).toMatch(/portcullis_jwks_fetches_total\{issuer="idp-a",outcome="ok"\} [1-9]/);
    const logged = t.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['issuer'] === 'idp-failing');
    expect(logged).toEqual([expect.objectContaining({ msg: 'external issuer keys could not be fetched', outcome: 'http_status', keptPrevious: false })]);
  });

  it('keeps verifying with the last good keys when the endpoint goes down, and refuses unknown kids', async () => {
    expect((await call(await token(keys['flaky-1']!, 'idp-flaky'))).status).toBe(200);
    servers['idp-flaky'].respondWith((req) => req.socket.destroy());
    t.clock.advance(31_000);
    const other = await issuerKey('flaky-2');
    expectRefused(await call(await token(other, 'idp-flaky')), 'external_key_unknown');
    expect((await call(await token(keys['flaky-1']!, 'idp-flaky'))).status).toBe(200);
    // Now it hangs instead: the refetch an unknown kid asks for gives up at the timeout, the old keys stay.
    servers['idp-flaky'].respondWith(() => {});
    t.clock.advance(31_000);
    const started = Date.now();
    expectRefused(await call(await token(other, 'idp-flaky')), 'external_key_unknown');
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await call(await token(keys['flaky-1']!, 'idp-flaky'))).status).toBe(200);
  });

  it('answers within the timeout when the endpoint never answers', async () => {
    const started = Date.now();
    const replies = await Promise.all([1, 2, 3].map(async () => call(await token(keys['a-1']!, 'idp-slow'))));
    const elapsed = Date.now() - started;
    for (const reply of replies) expectUnavailable(reply);
    expect(elapsed).toBeLessThan(3000);
    // Three requests, one fetch: they waited for the same one.
    expect(servers['idp-slow'].fetches).toBe(1);
  });

  it('refuses a junk body and a body over maxBytes (read as it streams) without accepting anything', async () => {
    expectUnavailable(await call(await token(keys['a-1']!, 'idp-junk')));
    expectUnavailable(await call(await token(keys['a-1']!, 'idp-huge')));
  });

  it('uses only the first maxKeys keys of a larger set', async () => {
    expect((await call(await token(manyKeys[3]!, 'idp-many'))).status).toBe(200);
    expectRefused(await call(await token(manyKeys[25]!, 'idp-many')), 'external_key_unknown');
  });
});
