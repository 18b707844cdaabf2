// Pieces of the adversarial suite alone: requests as exact bytes and what the recording upstream saw because of
// them, the suite's stricter idea of a leak, and how legacy backends fold header names together.

import { DEFAULT_IDENTITY_HEADERS } from '../../src/demo/backend.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { RecordedRequest } from '../helpers/echo-upstream.js';
import type { TestProxy } from '../helpers/proxy.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';

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

/** Identity header names the proxy sets (config defaults), lower-case: the demo backend's list. */
export const IDENTITY_HEADERS = DEFAULT_IDENTITY_HEADERS;

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
