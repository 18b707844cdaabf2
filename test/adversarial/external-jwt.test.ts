// Forgeries against the external-jwt authenticator: tokens that name one issuer and are signed by another, that
// carry our own issuer, that pick their algorithm or their key (alg confusion, embedded jwk, jku/x5u, kid tricks),
// and JWKS documents that try to slip in secrets or private keys. Each forged token differs from an accepted one
// in one property, and the control case shows that property alone decides.

import { createHmac, createPublicKey, KeyObject, sign } from 'node:crypto';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROZEN_EPOCH } from '../helpers/fixtures.js';
import { externalClaims, handMade, issuerKey, signExternal, startJwksServer, type IssuerKey, type JwksServer } from '../helpers/jwks-server.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import { exchange, http11, jsonOf } from './support.js';

const ISSUER_A = 'https://a.idp.example';
const ISSUER_B = 'https://b.idp.example';
const ISSUER_C = 'https://c.idp.example';

let keyA: IssuerKey;
let keyB: IssuerKey;
let attacker: IssuerKey;
let serverA: JwksServer;
let serverB: JwksServer;
let serverC: JwksServer;
let attackerServer: JwksServer;

beforeAll(async () => {
  keyA = await issuerKey('shared-kid');
  keyB = await issuerKey('shared-kid');
  attacker = await issuerKey('a-attacker');
  serverA = await startJwksServer([keyA, await issuerKey('a-2')]);
  serverB = await startJwksServer([keyB]);
  attackerServer = await startJwksServer([attacker]);
  // Issuer C publishes a symmetric key, a key meant for encryption and a private key beside a good one.
  const privateJwk = { ...(await exportJWK(attacker.privateKey)), kid: 'c-private', alg: 'RS256' };
  serverC = await startJwksServer([
    { kty: 'oct', k: Buffer.from('shared-secret').toString('base64url'), kid: 'c-oct', alg: 'HS256' },
    { ...attacker.jwk, kid: 'c-enc', use: 'enc' },
    privateJwk,
  ]);
});

afterAll(async () => {
  await Promise.all([serverA, serverB, serverC, attackerServer].map((server) => server.close()));
});

const t = testProxyForSuite(() => ({
  edit(config) {
    const issuer = (name: string, iss: string, server: JwksServer) => ({ name, issuer: iss, jwksUrl: server.url, audiences: ['itsm-api'], jwks: { timeout: '500ms' } });
    config['externalIssuers'] = [issuer('idp-a', ISSUER_A, serverA), issuer('idp-b', ISSUER_B, serverB), issuer('idp-c', ISSUER_C, serverC)];
    config['routes'] = [
      { id: 'api', path: '/api/**', authenticators: ['bearer', 'external-jwt'] },
      { id: 'portal-home', path: '/', methods: ['GET'], public: true },
    ];
  },
}));

const claims = (iss: string, overrides: Record<string, unknown> = {}) => externalClaims(iss, FROZEN_EPOCH, overrides);

async function answer(token: string) {
  const { response, upstream } = await exchange(t, http11('GET', '/api/tickets', [['Authorization', `Bearer ${token}`]]));
  return { status: response.status, body: jsonOf(response), forwarded: upstream.length };
}

async function expectRefused(token: string, reason?: string): Promise<void> {
  const reply = await answer(token);
  expect(reply.status, JSON.stringify(reply.body)).toBe(401);
  expect(reply.forwarded).toBe(0);
  expect(reply.body?.['error']).toBe('invalid_token');
  if (reason !== undefined) expect(reply.body?.['reason']).toBe(reason);
}

/** An RS256 token signed by hand, for headers a JWT library refuses to write. */
function rsaToken(key: IssuerKey, header: Record<string, unknown>, body: Record<string, unknown>): string {
  const input = handMade(header, body).slice(0, -1);
  return `${input}.${sign('sha256', Buffer.from(input), KeyObject.from(key.privateKey)).toString('base64url')}`;
}

function hmacToken(header: Record<string, unknown>, body: Record<string, unknown>, secret: string | Buffer): string {
  const input = handMade(header, body).slice(0, -1);
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('control', () => {
  it('accepts the genuine tokens of both issuers', async () => {
    expect((await answer(await signExternal(keyA, claims(ISSUER_A)))).status).toBe(200);
    expect((await answer(await signExternal(keyB, claims(ISSUER_B)))).status).toBe(200);
  });
});

describe('cross-issuer confusion', () => {
  it('refuses iss=A signed with B\'s key even when both publish the same kid', async () => {
    await expectRefused(await signExternal(keyB, claims(ISSUER_A)), 'external_token_invalid');
    await expectRefused(await signExternal(keyA, claims(ISSUER_B)), 'external_token_invalid');
  });

  it('never asks another issuer\'s JWKS for a token that names A', async () => {
    const before = serverB.fetches;
    await expectRefused(await signExternal(keyB, claims(ISSUER_A), { kid: 'b-only-kid' }), 'external_key_unknown');
    expect(serverB.fetches).toBe(before);
  });

  it('refuses a token of our own issuer signed with an external key, on every route', async () => {
    await expectRefused(await signExternal(keyA, claims('portcullis')));
    await expectRefused(await signExternal(keyA, claims('portcullis'), { typ: 'at+jwt', kid: 'test-key-1' }));
    // Our own genuine tokens still pass through the bearer authenticator.
    expect((await answer(await accessToken(t.url))).status).toBe(200);
  });

  it('matches the issuer exactly: a trailing slash, another case or an array is another (unknown) issuer', async () => {
    for (const iss of [`${ISSUER_A}/`, ISSUER_A.toUpperCase(), ` ${ISSUER_A}`]) await expectRefused(await signExternal(keyA, claims(iss)));
    await expectRefused(await signExternal(keyA, claims(ISSUER_A, { iss: [ISSUER_A] })));
  });
});

describe('algorithm confusion', () => {
  it('refuses none in every spelling, with or without a signature', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await expectRefused(handMade({ alg, kid: 'shared-kid' }, claims(ISSUER_A)), 'external_algorithm_refused');
      await expectRefused(handMade({ alg, kid: 'shared-kid' }, claims(ISSUER_A), 'AAAA'), 'external_algorithm_refused');
    }
  });

  it('refuses HS256 keyed with the issuer\'s published public key in any encoding', async () => {
    const pem = createPublicKey({ key: keyA.jwk as never, format: 'jwk' }).export({ format: 'pem', type: 'spki' }) as string;
    const der = createPublicKey({ key: keyA.jwk as never, format: 'jwk' }).export({ format: 'der', type: 'spki' });
    for (const secret of [pem, der, JSON.stringify(keyA.jwk), Buffer.from(keyA.jwk.n!, 'base64url')]) {
      for (const alg of ['HS256', 'HS384', 'HS512']) await expectRefused(hmacToken({ alg, kid: 'shared-kid' }, claims(ISSUER_A), secret), 'external_algorithm_refused');
    }
  });

  it('never uses a symmetric, encryption-only or private key from a JWKS', async () => {
    await expectRefused(hmacToken({ alg: 'HS256', kid: 'c-oct' }, claims(ISSUER_C), 'shared-secret'), 'external_algorithm_refused');
    await expectRefused(await signExternal(attacker, claims(ISSUER_C), { kid: 'c-enc' }), 'external_key_unknown');
    // The private JWK is reduced to its public half: its tokens verify, and nothing private was imported.
    expect((await answer(await signExternal(attacker, claims(ISSUER_C), { kid: 'c-private' }))).status).toBe(200);
  });
});

describe('key selection by the token', () => {
  it('ignores an embedded jwk, jku and x5u: the attacker\'s key is never fetched nor trusted', async () => {
    const before = attackerServer.fetches;
    for (const header of [{ jwk: attacker.jwk }, { jku: attackerServer.url }, { x5u: attackerServer.url }, { jku: attackerServer.url, kid: 'a-attacker' }]) {
      await expectRefused(await signExternal(attacker, claims(ISSUER_A), { kid: 'shared-kid', ...header }));
    }
    expect(attackerServer.fetches).toBe(before);
  });

  it('treats kids with path, URL or control characters as names only, and refuses huge ones without a fetch', async () => {
    const before = serverA.fetches;
    for (const kid of ['../../../etc/passwd', `${serverA.url}?kid=shared-kid`, 'shared-kid\u0000', 'shared-kid/../a-2', "' OR 1=1 --"]) {
      await expectRefused(await signExternal(keyA, claims(ISSUER_A), { kid }), 'external_key_unknown');
    }
    await expectRefused(handMade({ alg: 'RS256', kid: 'k'.repeat(300) }, claims(ISSUER_A), 'AAAA'), 'external_key_unknown');
    await expectRefused(handMade({ alg: 'RS256', kid: 12345 }, claims(ISSUER_A), 'AAAA'), 'external_key_unknown');
    // One refetch at most for the whole lot (the cooldown), none for the huge or non-string kid.
    expect(serverA.fetches - before).toBeLessThanOrEqual(1);
  });

  it('refuses a token over the size bound and a critical header it does not understand', async () => {
    await expectRefused(await signExternal(keyA, claims(ISSUER_A, { padding: 'x'.repeat(9000) })), 'token_malformed');
    const header = { alg: 'RS256', kid: 'shared-kid' };
    expect((await answer(rsaToken(keyA, header, claims(ISSUER_A)))).status).toBe(200);
    await expectRefused(rsaToken(keyA, { ...header, crit: ['exp-ext'], 'exp-ext': 1 }, claims(ISSUER_A)), 'external_token_invalid');
    await expectRefused(rsaToken(keyA, { ...header, b64: false, crit: ['b64'] }, claims(ISSUER_A)), 'external_token_invalid');
  });
});

describe('claims that try to reach the upstream', () => {
  it('never lets a client header or a claim forge the identity headers', async () => {
    const token = await signExternal(keyA, claims(ISSUER_A, { sub: 'alice' }));
    const { response, upstream } = await exchange(
      t,
      http11('GET', '/api/tickets', [
        ['Authorization', `Bearer ${token}`],
        ['X-Portcullis-Issuer', 'idp-b'],
        ['X_Portcullis_User', 'root'],
        ['X-Portcullis-Auth', 'oauth'],
      ]),
    );
    expect(response.status).toBe(200);
    const seen = upstream[0]!.headers;
    expect(seen).toMatchObject({ 'x-portcullis-issuer': 'idp-a', 'x-portcullis-user': 'alice', 'x-portcullis-auth': 'external-jwt' });
    expect(upstream[0]!.rawHeaders.filter((h) => /x.portcullis.user/i.test(h))).toHaveLength(1);
  });

  it('refuses a user claim that is not a printable header value', async () => {
    for (const sub of ['alice\r\nX-Portcullis-User: root', 'a,b', ' alice', 42, ['alice'], 'x'.repeat(300)]) {
      await expectRefused(await signExternal(keyA, claims(ISSUER_A, { sub })), 'external_claims_invalid');
    }
  });
});
