// Forward-auth sub-requests as nginx (`auth_request`), Traefik (ForwardAuth) and Envoy (HTTP ext_authz) send
// them, and the in-line request they stand for, as raw bytes so that tricky targets arrive exactly as written;
// plus the comparison of a forward-auth answer with the in-line one.

import { expect } from 'vitest';
import { FORWARD_PATH_HEADER } from '../../src/rewrite/forward-auth-headers.js';
import type { RecordedRequest } from './echo-upstream.js';
import { withPcr } from './fixtures.js';
import type { TestProxyOptions } from './proxy.js';
import { rawRequest, type RawResponse } from './raw-http.js';

export const FORWARD_AUTH_PATH = '/auth/verify';
export { FORWARD_PATH_HEADER };

/** Both faces on /api, a public page and public docs, and the forward-auth endpoint. */
export function forwardAuthProxy(forwardAuth: Record<string, unknown>, trustedProxies: string[]): TestProxyOptions {
  return withPcr((config) => {
    config['forwardAuth'] = forwardAuth;
    (config['listen'] as Record<string, unknown>)['trustedProxies'] = trustedProxies;
    (config['routes'] as unknown[]).push({ id: 'public-docs', path: '/docs/**', public: true });
  });
}

/** The proxies in front whose sub-requests the endpoint answers. */
export const ASKERS = ['nginx', 'traefik', 'envoy'] as const;
export type Asker = (typeof ASKERS)[number];

/** Header lines in order; a name may repeat. */
export type HeaderLines = ReadonlyArray<readonly [string, string]>;

/** One request as raw bytes: no client library tidies the target or merges repeated headers. */
export function rawCall(port: number, method: string, target: string, headers: HeaderLines = []): Promise<RawResponse> {
  const lines = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return rawRequest(port, `${method} ${target} HTTP/1.1\r\nHost: portal.example\r\n${lines}Connection: close\r\n\r\n`);
}

/** The request itself, sent to the proxy in line. */
export function inline(port: number, method: string, target: string, headers: HeaderLines = []): Promise<RawResponse> {
  return rawCall(port, method, target, headers);
}

/** The sub-request `asker` sends about `method target` carrying the client's `headers`, as its documented config makes it. */
export function subRequest(asker: Asker, method: string, target: string, headers: HeaderLines = []): { method: string; target: string; headers: HeaderLines } {
  switch (asker) {
    case 'nginx':
      return { method: 'GET', target: FORWARD_AUTH_PATH, headers: [...headers, ['X-Original-URI', target], ['X-Original-Method', method]] };
    case 'traefik':
      return {
        method: 'GET',
        target: FORWARD_AUTH_PATH,
        headers: [...headers, ['X-Forwarded-Method', method], ['X-Forwarded-Proto', 'https'], ['X-Forwarded-Host', 'portal.example'], ['X-Forwarded-Uri', target], ['X-Forwarded-For', '203.0.113.9']],
      };
    case 'envoy':
      return { method, target: `${FORWARD_AUTH_PATH}${target}`, headers: [...headers, ['Content-Length', '0']] };
  }
}

export function askForwardAuth(port: number, asker: Asker, method: string, target: string, headers: HeaderLines = []): Promise<RawResponse> {
  const sub = subRequest(asker, method, target, headers);
  return rawCall(port, sub.method, sub.target, sub.headers);
}

/** The reason id of a denial: RFC 6750 JSON carries it as `reason`, the PCR-360 formats as `error`. */
export function reasonOf(answer: RawResponse): string | undefined {
  try {
    const body = JSON.parse(answer.body) as { reason?: string; error?: string; status?: string };
    return body.status === 'error' ? body.error : body.reason;
  } catch {
    // XML, or PHP serialize() where the code comes just before the reason.
    return /<error>([^<]+)<\/error>|i:\d+;s:5:"error";s:\d+:"([^"]+)"/.exec(answer.body)?.slice(1).find((m) => m !== undefined);
  }
}

/** The parts of a denial a client reads: status, body, and the headers that say what to do next. */
function denialOf(answer: RawResponse): Record<string, unknown> {
  return {
    status: answer.status,
    body: answer.body,
    contentType: answer.headers['content-type'],
    challenge: answer.headers['www-authenticate'],
    allow: answer.headers['allow'],
  };
}

export function expectSameDenial(inlineAnswer: RawResponse, asked: RawResponse, label = ''): void {
  expect(inlineAnswer.status, `${label}: in line this is not a denial: ${inlineAnswer.body}`).toBeGreaterThanOrEqual(400);
  expect(denialOf(asked), label).toEqual(denialOf(inlineAnswer));
}

/** The identity headers (every name the proxy may set) of a forward-auth answer or of what reached the upstream. */
export function identityOf(headers: Record<string, string | string[] | undefined>, names: readonly string[]): Record<string, string> {
  const identity: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value !== undefined) identity[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return identity;
}

/** A pass says what the in-line request handed the upstream: the same identity, and the path it forwarded. */
export function expectSamePass(asked: RawResponse, forwarded: RecordedRequest, names: readonly string[], label = ''): void {
  expect(asked.status, `${label}: ${asked.body}`).toBe(200);
  expect(asked.body, label).toBe('');
  expect(identityOf(asked.headers, names), label).toEqual(identityOf(forwarded.headers, names));
  expect(asked.headers[FORWARD_PATH_HEADER], label).toBe(forwarded.url);
}
