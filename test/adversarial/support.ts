// Shared pieces of the adversarial suite: requests as exact bytes, what the recording upstream saw because of them,
// tokens signed with the proxy's own test key so that only the attacked property is wrong, and what counts as a leak.

import { DEFAULT_IDENTITY_HEADERS } from '../../src/demo/backend.js';
import { createSign } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { importPKCS8, SignJWT, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import type { RecordedRequest } from '../helpers/echo-upstream.js';
import { login, SIGNING_KEY_PEM, type TestProxy } from '../helpers/proxy.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** One HTTP/1.1 request as latin1 text: request line, a Host unless one is given, the headers in order, the body. */
export function http11(method: string, target: string, headers: HeaderList = [], body = ''): string {
  const lines = [`${method} ${target} HTTP/1.1`];
  if (!headers.some(([name]) => name.toLowerCase() === 'host')) lines.push('Host: portal.example');
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export interface Exchange {
  response: RawResponse;
  /** Every request the upstream completed because of this exchange (the upstream is reset before it). */
  upstream: RecordedRequest[];
  upgrades: RecordedRequest[];
}

/**
 * Sends exact bytes on a fresh connection and returns the first answer with what reached the upstream. The optional
 * settle lets a request the proxy should not have sent (a smuggled one) arrive before the upstream is read.
 */
export async function exchange(t: TestProxy, bytes: string | Buffer, options: { settleMs?: number; timeoutMs?: number } = {}): Promise<Exchange> {
  t.upstream.reset();
  const response = await rawRequest(t.port, bytes, { timeoutMs: options.timeoutMs ?? 3000 });
  if (options.settleMs !== undefined) await sleep(options.settleMs);
  return { response, upstream: [...t.upstream.requests], upgrades: [...t.upstream.upgrades] };
}

/** The JSON body of a raw answer, or undefined when it is not JSON. */
export function jsonOf(response: RawResponse): Record<string, unknown> | undefined {
  try {
    return JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A fresh access token of the demo operator. */
export async function accessToken(t: TestProxy): Promise<string> {
  const answer = await login(t.url);
  expect(answer.status).toBe(200);
  return answer.body['access_token'] as string;
}

export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
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

// Stack frames, source paths, and the messages of the libraries underneath (with the addresses they carry).
const LEAK_PATTERNS: readonly RegExp[] = [
  /\bat \S+ \(/,
  /\bat (?:async )?\S+:\d+:\d+/,
  /\.(?:ts|js|mjs|cjs):\d+/,
  /node_modules|node:internal/,
  /(?:file:\/\/|\/[\w.@-]+\/[\w.@/-]+\.(?:ts|js|mjs|cjs)\b)/,
  /\b(?:TypeError|RangeError|SyntaxError|URIError|ReferenceError)\b/,
  /Unexpected token|JSON\.parse|decodeURIComponent|ERR_[A-Z_]{3,}|ECONN[A-Z]+|EPIPE|ETIMEDOUT|HPE_[A-Z_]+|\[object /,
  /127\.0\.0\.1:\d+/,
];

export function expectNoInternals(text: string, what = 'answer'): void {
  for (const pattern of LEAK_PATTERNS) expect(text, `${what} leaks internals (${pattern}): ${text.slice(0, 300)}`).not.toMatch(pattern);
}

/** A connection that records what the server sends and when it closes; for timing-based tests. */
export interface Watched {
  socket: Socket;
  received(): string;
  closed: Promise<void>;
  isClosed(): boolean;
}

export function openConnection(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
    let data = '';
    let closed = false;
    const closedPromise = new Promise<void>((done) =>
      socket.once('close', () => {
        closed = true;
        done();
      }),
    );
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve({ socket, received: () => data, closed: closedPromise, isClosed: () => closed });
    });
    socket.once('error', reject);
  });
}

export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Identity header names the proxy sets (config defaults), lower-case: the demo backend's list. */
export const IDENTITY_HEADERS = DEFAULT_IDENTITY_HEADERS;

/** What the proxy sets for the demo operator's bearer token. */
export const OPERATOR_IDENTITY: Readonly<Record<string, string>> = {
  'x-portcullis-auth': 'oauth',
  'x-portcullis-user': 'my-operator',
  'x-portcullis-client-id': 'public-api',
  'x-portcullis-scope': 'public-api',
  'x-portcullis-teams': 'service-desk,network',
  'x-portcullis-organizations': 'acme',
  'x-portcullis-features': 'tickets,dashboard',
};

/** Lower-case, '_' and '.' folded to '-': how legacy backends (CGI, PHP, IIS) see a header name. */
export function folded(name: string): string {
  return name.toLowerCase().replace(/[_.]/g, '-');
}

/** Raw header lines (name, value) of a recorded request whose folded name is `name`. */
export function rawHeaderLines(request: RecordedRequest, name: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    if (folded(request.rawHeaders[i]!) === name) out.push([request.rawHeaders[i]!, request.rawHeaders[i + 1]!]);
  }
  return out;
}
