// Shared pieces of the OAuth, bearer and forwarding integration tests: small HTTP calls, hand-made access tokens,
// and the check that an error answer is a clean OAuth/RFC 6750 body with nothing internal in it.

import { createServer } from 'node:net';
import { SignJWT, importPKCS8, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { SIGNING_KEY_PEM } from '../helpers/proxy.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Config edit for tests that fail logins on purpose: brute-force lockouts would turn later answers into 429. */
export function withoutBruteForce(config: Record<string, unknown>): void {
  config['protection'] = { bruteForce: { enabled: false } };
}

// What leaks look like: stack frames, source or install paths, and the messages of the libraries underneath.
const LEAK_PATTERNS: readonly RegExp[] = [
  /\bat \S+ \(/,
  /\bat (?:async )?\S+:\d+:\d+/,
  /\.(?:ts|js|mjs|cjs):\d+/,
  /node_modules|node:internal/,
  /\/(?:home|usr|opt|var|tmp|root|app|srv)\//,
  /\b(?:TypeError|RangeError|SyntaxError|URIError|ReferenceError|Error:)/,
  /Unexpected token|JSON\.parse|decodeURIComponent|ERR_[A-Z_]+|ECONN|EPIPE|zod|undefined|\[object /i,
];

export function expectNoInternals(text: string): void {
  for (const pattern of LEAK_PATTERNS) expect(text, `error answer leaks internals (${pattern})`).not.toMatch(pattern);
}

/** An OAuth (RFC 6749 §5.2) or RFC 6750 error body: the code given, a description, and nothing internal. */
export function expectErrorBody(body: unknown, code: string): void {
  expect(body).toBeTypeOf('object');
  const record = body as Record<string, unknown>;
  expect(record['error']).toBe(code);
  expect(record['error_description']).toBeTypeOf('string');
  expect((record['error_description'] as string).length).toBeGreaterThan(0);
  expectNoInternals(JSON.stringify(body));
}

/** A loopback port that nothing listens on (taken, then released). */
export async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
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

/** Signs claims with the proxy's own test key, so only the claims or header under test make a token bad. */
export async function signWithTestKey(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  testKey ??= importPKCS8(SIGNING_KEY_PEM, 'RS256');
  return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt', ...header }).sign(await testKey);
}
