// Reading and hand-making JWTs: the parts of a token, claims like the proxy's own access tokens, and signatures
// by the proxy's own test key, so that only the claim or header a test changes makes a token bad.

import { createSign } from 'node:crypto';
import { importPKCS8, SignJWT, type JWTPayload } from 'jose';
import { SIGNING_KEY_PEM } from './fixtures.js';

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

/** The decoded header (0) or claims (1) of a token, unverified. */
export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The decoded claims of a token, unverified. */
export function claimsOf(token: string): Record<string, unknown> {
  return decodePart(token, 1);
}

/** Claims an access token of ours carries, valid at `nowMs` for an hour. */
export function accessClaims(nowMs: number, overrides: Record<string, unknown> = {}): JWTPayload & Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  return {
    sub: 'my-operator',
    client_id: 'public-api',
    scope: 'public-api',
    jti: `hand-made-${Math.random().toString(36).slice(2)}`,
    fid: 'hand-made-family-000000',
    iss: 'portcullis',
    aud: 'itsm-api',
    iat,
    exp: iat + 3600,
    ...overrides,
  };
}

let testKey: ReturnType<typeof importPKCS8> | null = null;

/** Signs with the proxy's own key (kid test-key-1, RS256, typ at+jwt unless the header says otherwise). */
export async function signWithTestKey(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  testKey ??= importPKCS8(SIGNING_KEY_PEM, 'RS256');
  return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt', ...header }).sign(await testKey);
}

/** The signing input of a token and an RS256 signature over it by the test key, for headers jose refuses to write. */
export function signRaw(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  const signature = createSign('sha256').update(input).sign(SIGNING_KEY_PEM).toString('base64url');
  return `${input}.${signature}`;
}
