// What a clean error answer of the integration suite looks like: an OAuth (RFC 6749 §5.2) or RFC 6750 body with
// the expected code and a description, and nothing internal in it.

import { expect } from 'vitest';

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
