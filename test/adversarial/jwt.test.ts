// Access-token forgeries from the JWT advisories. Every forged token starts from a real one the proxy issued (same
// subject, client, grant family) and is signed with the proxy's own test key (with jose where jose will write the
// header, by hand where it refuses to), so exactly one property is wrong: the control case shows that property
// alone decides. Verification reads only alg, kid and typ, takes the
// algorithm from the key and never from the token, and looks the kid up among configured keys before any crypto.

import { createHmac, createPublicKey, createSign, generateKeyPairSync, sign as signWith, constants } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { FROZEN_EPOCH, SIGNING_KEY_PEM, withPcr } from '../helpers/fixtures.js';
import { b64url, decodePart, signRaw, signWithTestKey } from '../helpers/jwt.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { login } from '../helpers/oauth.js';
import { pcrLogin } from '../helpers/pcr.js';
import { exchange, http11, jsonOf } from './support.js';

const NOW = Math.floor(FROZEN_EPOCH / 1000);
const HEADER = { alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt' };

const t = testProxyForSuite(withPcr());
let issued: { access: string; refresh: string; claims: Record<string, unknown> };
let sessionToken: string;
let serial = 0;

beforeAll(async () => {
  const answer = await login(t.url);
  expect(answer.status).toBe(200);
  const access = answer.body['access_token'] as string;
  issued = { access, refresh: answer.body['refresh_token'] as string, claims: decodePart(access, 1) };
  sessionToken = await pcrLogin(t.url);
});

/** The issued token's claims with a fresh jti (a token the verified cache has not seen), then the changes. */
function claims(changes: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...issued.claims, jti: `forged-${serial++}`, ...changes };
  for (const [name, value] of Object.entries(changes)) if (value === undefined) delete out[name];
  return out;
}

function withSignature(header: Record<string, unknown>, body: Record<string, unknown>, signature: string): string {
  return `${b64url(header)}.${b64url(body)}.${signature}`;
}

function signingInput(header: Record<string, unknown>, body: Record<string, unknown>): string {
  return `${b64url(header)}.${b64url(body)}`;
}

async function bearerAnswer(token: string) {
  return exchange(t, http11('GET', '/api/dashboard', [['Authorization', `Bearer ${token}`]]));
}

describe('control: a re-signed copy of an issued token is accepted', () => {
  it('only the jti differs from the issued token', async () => {
    const { response, upstream } = await bearerAnswer(await signWithTestKey(claims()));
    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.headers['x-portcullis-user']).toBe('my-operator');
  });

  it.each([
    ['iat 30 s ahead (within the leeway)', { iat: NOW + 30 }],
    ['nbf 29 s ahead (within the leeway)', { nbf: NOW + 29 }],
    ['aud as a one-element array', { aud: ['itsm-api'] }],
    ['exp one second ahead', { exp: NOW + 1 }],
  ])('%s', async (_name, changes) => {
    const { response, upstream } = await bearerAnswer(await signWithTestKey(claims(changes)));
    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
  });
});

type Forgery = [name: string, make: () => string | Promise<string>, reason: string];

const forgeries: Record<string, Forgery[]> = {
  'alg none, any case': ['none', 'None', 'NONE', 'nOnE'].flatMap((alg): Forgery[] => [
    [`alg ${alg}, empty signature`, () => withSignature({ ...HEADER, alg }, claims(), ''), 'token_malformed'],
    [`alg ${alg}, some signature`, () => withSignature({ ...HEADER, alg }, claims(), 'AAAA'), 'token_algorithm_invalid'],
    [`alg ${alg}, no kid`, () => withSignature({ alg, typ: 'at+jwt' }, claims(), 'AAAA'), 'token_header_invalid'],
  ]),
  'algorithm confusion': [
    ['HS256 keyed with the public key PEM', () => hmac(createPublicKey(SIGNING_KEY_PEM).export({ format: 'pem', type: 'spki' }) as string), 'token_algorithm_invalid'],
    ['HS256 keyed with the public key PKCS#1 PEM', () => hmac(createPublicKey(SIGNING_KEY_PEM).export({ format: 'pem', type: 'pkcs1' }) as string), 'token_algorithm_invalid'],
    ['HS256 keyed with the published JWK', () => hmac(JSON.stringify(createPublicKey(SIGNING_KEY_PEM).export({ format: 'jwk' }))), 'token_algorithm_invalid'],
    ['RS512 with the right key', () => rsa('RS512', 'sha512'), 'token_algorithm_invalid'],
    ['PS256 with the right key', () => pss(), 'token_algorithm_invalid'],
    ['ES256 claimed over an RSA signature', () => signRaw({ ...HEADER, alg: 'ES256' }, claims()), 'token_algorithm_invalid'],
    ['EdDSA claimed', () => signRaw({ ...HEADER, alg: 'EdDSA' }, claims()), 'token_algorithm_invalid'],
    ['alg missing', () => signRaw({ kid: 'test-key-1', typ: 'at+jwt' }, claims()), 'token_algorithm_invalid'],
    ['alg as an array', () => signRaw({ ...HEADER, alg: ['RS256'] }, claims()), 'token_algorithm_invalid'],
    ['lower-case rs256', () => signRaw({ ...HEADER, alg: 'rs256' }, claims()), 'token_algorithm_invalid'],
  ],
  'keys and key URLs embedded in the header': [
    ['jwk with the attacker\'s key, signed by it', () => attackerSigned({ jwk: attacker().jwk }), 'token_header_invalid'],
    ['jwk with our own public key', () => signRaw({ ...HEADER, jwk: createPublicKey(SIGNING_KEY_PEM).export({ format: 'jwk' }) }, claims()), 'token_header_invalid'],
    ['jku pointing elsewhere', () => attackerSigned({ jku: 'https://evil.example/jwks.json' }), 'token_header_invalid'],
    ['jku pointing at our own JWKS', () => signRaw({ ...HEADER, jku: 'http://127.0.0.1/.well-known/jwks.json' }, claims()), 'token_header_invalid'],
    ['x5u', () => attackerSigned({ x5u: 'https://evil.example/cert.pem' }), 'token_header_invalid'],
    ['x5c', () => attackerSigned({ x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }), 'token_header_invalid'],
    ['x5t', () => signRaw({ ...HEADER, x5t: 'abc' }, claims()), 'token_header_invalid'],
    ['an unknown member', () => signRaw({ ...HEADER, cty: 'JWT' }, claims()), 'token_header_invalid'],
    ['__proto__ member', () => `${Buffer.from('{"alg":"RS256","kid":"test-key-1","typ":"at+jwt","__proto__":{"x":1}}').toString('base64url')}.${b64url(claims())}.AAAA`, 'token_header_invalid'],
  ],
  'hostile kid': [
    ['path traversal', () => signRaw({ ...HEADER, kid: '../../../../../../dev/null' }, claims()), 'token_unknown_key'],
    ['traversal to a key file', () => signRaw({ ...HEADER, kid: '../../config/keys/test-key-1.pem' }, claims()), 'token_unknown_key'],
    ['SQL', () => signRaw({ ...HEADER, kid: "x' UNION SELECT 'secret' --" }, claims()), 'token_unknown_key'],
    ['a command', () => signRaw({ ...HEADER, kid: 'test-key-1|/usr/bin/id' }, claims()), 'token_unknown_key'],
    ['a NUL after the real kid', () => signRaw({ ...HEADER, kid: 'test-key-1\u0000' }, claims()), 'token_unknown_key'],
    ['the real kid in another case', () => signRaw({ ...HEADER, kid: 'TEST-KEY-1' }, claims()), 'token_unknown_key'],
    ['the real kid with a space', () => signRaw({ ...HEADER, kid: ' test-key-1' }, claims()), 'token_unknown_key'],
    ['__proto__', () => signRaw({ ...HEADER, kid: '__proto__' }, claims()), 'token_unknown_key'],
    ['5000 characters', () => signRaw({ ...HEADER, kid: 'k'.repeat(5000) }, claims()), 'token_unknown_key'],
    ['so long the token passes 8 KB', () => signRaw({ ...HEADER, kid: 'k'.repeat(9000) }, claims()), 'token_malformed'],
    ['a number', () => signRaw({ ...HEADER, kid: 1 }, claims()), 'token_header_invalid'],
    ['null', () => signRaw({ ...HEADER, kid: null }, claims()), 'token_header_invalid'],
    ['an array holding the real kid', () => signRaw({ ...HEADER, kid: ['test-key-1'] }, claims()), 'token_header_invalid'],
    ['an object', () => signRaw({ ...HEADER, kid: { $ne: null } }, claims()), 'token_header_invalid'],
    ['missing', () => signRaw({ alg: 'RS256', typ: 'at+jwt' }, claims()), 'token_header_invalid'],
  ],
  'crit, b64 and other processing instructions': [
    ['crit naming exp', () => signRaw({ ...HEADER, crit: ['exp'] }, claims()), 'token_header_invalid'],
    ['crit naming an unknown extension', () => signRaw({ ...HEADER, crit: ['x-unknown'], 'x-unknown': true }, claims()), 'token_header_invalid'],
    ['b64 false with crit, unencoded payload of token characters', () => unencoded('my-operator~public-api'), 'token_malformed'],
    ['b64 false with crit, encoded payload', () => signRaw({ ...HEADER, b64: false, crit: ['b64'] }, claims()), 'token_header_invalid'],
    ['zip', () => signRaw({ ...HEADER, zip: 'DEF' }, claims()), 'token_header_invalid'],
    ['enc (a JWE header on a JWS)', () => signRaw({ ...HEADER, enc: 'A256GCM' }, claims()), 'token_header_invalid'],
  ],
  'token shapes': [
    ['JWE compact serialisation (5 parts)', () => `${b64url({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'test-key-1', typ: 'at+jwt' })}.${'A'.repeat(342)}.AAAAAAAAAAAAAAAA.${b64url(claims())}.AAAAAAAAAAAAAAAAAAAAAA`, 'token_malformed'],
    ['four parts', () => `${issued.access}.AAAA`, 'token_malformed'],
    ['two parts', () => issued.access.split('.').slice(0, 2).join('.'), 'token_malformed'],
    ['a leading dot', () => `.${issued.access}`, 'token_malformed'],
    ['header that is not JSON', () => `${b64url('not json')}.${b64url(claims())}.AAAA`, 'token_malformed'],
    ['header that is a JSON array', () => `${b64url(['RS256'])}.${b64url(claims())}.AAAA`, 'token_malformed'],
    ['payload that is not JSON, validly signed', () => signedPayload('not json'), 'token_malformed'],
    ['payload that is a JSON string, validly signed', () => signedPayload('"my-operator"'), 'token_malformed'],
    ['typ JWT', () => signRaw({ ...HEADER, typ: 'JWT' }, claims()), 'token_type_invalid'],
    ['typ missing', () => signRaw({ alg: 'RS256', kid: 'test-key-1' }, claims()), 'token_type_invalid'],
    ['typ of a PCR session token', () => signRaw({ ...HEADER, typ: 'pcr-session+jwt' }, claims()), 'token_type_invalid'],
  ],
  'time claims': [
    ['exp missing', () => signWithTestKey(claims({ exp: undefined })), 'token_claims_invalid'],
    ['exp as a string', () => signWithTestKey(claims({ exp: String(NOW + 3600) })), 'token_claims_invalid'],
    ['exp null', () => signWithTestKey(claims({ exp: null })), 'token_claims_invalid'],
    ['exp negative', () => signWithTestKey(claims({ exp: -1 })), 'token_claims_invalid'],
    ['exp an object', () => signWithTestKey(claims({ exp: { $gt: 0 } })), 'token_claims_invalid'],
    ['exp now', () => signWithTestKey(claims({ exp: NOW })), 'token_expired'],
    ['exp a second ago', () => signWithTestKey(claims({ exp: NOW - 1 })), 'token_expired'],
    ['iat missing', () => signWithTestKey(claims({ iat: undefined })), 'token_claims_invalid'],
    ['iat as a string', () => signWithTestKey(claims({ iat: String(NOW) })), 'token_claims_invalid'],
    ['iat 31 s ahead', () => signWithTestKey(claims({ iat: NOW + 31 })), 'token_not_yet_valid'],
    ['iat a day ahead', () => signWithTestKey(claims({ iat: NOW + 86_400, exp: NOW + 90_000 })), 'token_not_yet_valid'],
    ['nbf 31 s ahead', () => signWithTestKey(claims({ nbf: NOW + 31 })), 'token_not_yet_valid'],
    ['nbf as a string', () => signWithTestKey(claims({ nbf: String(NOW) })), 'token_claims_invalid'],
    ['jti missing', () => signWithTestKey({ ...claims(), jti: undefined }), 'token_claims_invalid'],
  ],
  'issuer and audience': [
    ['iss of someone else', () => signWithTestKey(claims({ iss: 'https://evil.example' })), 'token_issuer_invalid'],
    ['iss with a trailing space', () => signWithTestKey(claims({ iss: 'portcullis ' })), 'token_issuer_invalid'],
    ['iss as an array', () => signWithTestKey(claims({ iss: ['portcullis'] })), 'token_issuer_invalid'],
    ['iss missing', () => signWithTestKey(claims({ iss: undefined })), 'token_issuer_invalid'],
    ['aud of PCR session tokens', () => signWithTestKey(claims({ aud: 'itsm-api#pcr-session' })), 'token_audience_invalid'],
    ['aud with an extra audience', () => signWithTestKey(claims({ aud: ['itsm-api', 'evil'] })), 'token_audience_invalid'],
    ['aud missing', () => signWithTestKey(claims({ aud: undefined })), 'token_audience_invalid'],
    ['aud another service', () => signWithTestKey(claims({ aud: 'billing-api' })), 'token_audience_invalid'],
  ],
  'subject, client, scope and grant': [
    ['an unknown operator', () => signWithTestKey(claims({ sub: 'admin' })), 'operator_disabled'],
    ['an operator without API access', () => signWithTestKey(claims({ sub: 'no-api-operator' })), 'operator_disabled'],
    ['an unknown client', () => signWithTestKey(claims({ client_id: 'evil-client' })), 'client_disabled'],
    ['client_id missing', () => signWithTestKey(claims({ client_id: undefined })), 'token_claims_invalid'],
    ['sub as a number', () => signWithTestKey(claims({ sub: 1 })), 'token_claims_invalid'],
    ['a grant the store never issued', () => signWithTestKey(claims({ fid: 'AAAAAAAAAAAAAAAAAAAAAA' })), 'token_revoked'],
    ['fid missing', () => signWithTestKey(claims({ fid: undefined })), 'token_claims_invalid'],
  ],
  'other credentials presented as an access token': [
    ['the refresh token', () => issued.refresh, 'token_malformed'],
    ['a PCR session token', () => sessionToken, 'token_type_invalid'],
    ['a PCR session token re-typed as an access token', () => signRaw(HEADER, decodePart(sessionToken, 1)), 'token_audience_invalid'],
    ['the client secret', () => SECRETS.clientSecret, 'token_malformed'],
  ],
};

describe.each(Object.entries(forgeries))('%s', (_group, cases) => {
  it.each(cases)('%s: 401, nothing forwarded', async (_name, make, reason) => {
    const { response, upstream } = await bearerAnswer(await make());
    expect(response.status).toBe(401);
    expect(jsonOf(response)?.['reason']).toBe(reason);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="portcullis", error="invalid_token"/);
    expect(upstream).toEqual([]);
  });
});

describe('an unencoded JSON payload (RFC 7797)', () => {
  it('is not even a b64token: 400 authorization_malformed, nothing forwarded', async () => {
    const { response, upstream } = await bearerAnswer(unencoded(JSON.stringify(claims())));
    expect(response.status).toBe(400);
    expect(jsonOf(response)?.['reason']).toBe('authorization_malformed');
    expect(upstream).toEqual([]);
  });
});

describe('scope', () => {
  it('a token for another scope is 403 insufficient_scope, nothing forwarded', async () => {
    const { response, upstream } = await bearerAnswer(await signWithTestKey(claims({ scope: 'admin-api' })));
    expect(response.status).toBe(403);
    expect(jsonOf(response)?.['reason']).toBe('scope_insufficient');
    expect(upstream).toEqual([]);
  });
});

describe('tokens swapped between the two faces', () => {
  async function withSessionHeader(token: string) {
    return exchange(t, http11('GET', `/api/${SECRETS.rwKey}/servicedesk.json`, [['PCR-AUTH-TOKEN', token]]));
  }

  it('control: the session token opens its key', async () => {
    const { response, upstream } = await withSessionHeader(sessionToken);
    expect(response.status).toBe(200);
    expect(upstream.map((r) => r.url)).toEqual(['/api/servicedesk.json']);
  });

  it.each([
    ['an access token', () => issued.access],
    ['an access token re-typed as a session token', () => signRaw({ ...HEADER, typ: 'pcr-session+jwt' }, claims({ key: 'demo-rw', sid: 'forged-session' }))],
    ['a session token for the right key with the access audience', () => signRaw({ ...HEADER, typ: 'pcr-session+jwt' }, { ...decodePart(sessionToken, 1), aud: 'itsm-api' })],
    ['a refresh token', () => issued.refresh],
    ['a session token with alg none', () => withSignature({ ...decodePart(sessionToken, 0), alg: 'none' }, decodePart(sessionToken, 1), '')],
  ])('%s in PCR-AUTH-TOKEN: 401, nothing forwarded', async (_name, make) => {
    const { response, upstream } = await withSessionHeader(make());
    expect(response.status).toBe(401);
    expect(jsonOf(response)?.['error']).toBe('session_token_invalid');
    expect(upstream).toEqual([]);
  });
});

function hmac(secret: string): string {
  const header = { ...HEADER, alg: 'HS256' };
  const body = claims();
  return withSignature(header, body, createHmac('sha256', secret).update(signingInput(header, body)).digest('base64url'));
}

function rsa(alg: string, hash: string): string {
  const header = { ...HEADER, alg };
  const body = claims();
  return withSignature(header, body, createSign(hash).update(signingInput(header, body)).sign(SIGNING_KEY_PEM).toString('base64url'));
}

function pss(): string {
  const header = { ...HEADER, alg: 'PS256' };
  const body = claims();
  const signature = signWith('sha256', Buffer.from(signingInput(header, body)), { key: SIGNING_KEY_PEM, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  return withSignature(header, body, signature.toString('base64url'));
}

let attackerKey: { pem: string; jwk: Record<string, unknown> } | null = null;

function attacker(): { pem: string; jwk: Record<string, unknown> } {
  if (attackerKey === null) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    attackerKey = { pem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, jwk: pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown> };
  }
  return attackerKey;
}

/** Signed by a key the attacker holds, pointing at it from the header. */
function attackerSigned(extra: Record<string, unknown>): string {
  const header = { ...HEADER, kid: 'attacker', ...extra };
  const body = claims();
  return withSignature(header, body, createSign('sha256').update(signingInput(header, body)).sign(attacker().pem).toString('base64url'));
}

/** RFC 7797: the payload travels unencoded, and the signature covers it as it is. */
function unencoded(payload: string): string {
  const header = { ...HEADER, b64: false, crit: ['b64'] };
  const signature = createSign('sha256').update(`${b64url(header)}.${payload}`).sign(SIGNING_KEY_PEM).toString('base64url');
  return `${b64url(header)}.${payload}.${signature}`;
}

function signedPayload(text: string): string {
  const input = `${b64url(HEADER)}.${Buffer.from(text).toString('base64url')}`;
  return `${input}.${createSign('sha256').update(input).sign(SIGNING_KEY_PEM).toString('base64url')}`;
}
