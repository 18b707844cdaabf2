// Property checks through the running proxy (both forwarding engines): for request targets assembled from hostile
// fragments, whatever reaches the upstream is exactly the normalised target the pipeline decided on, and a refused
// request reaches nothing; for header sets with the owned names spelled every way a backend would fold together,
// only the proxy's own identity and forwarding values arrive.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeRequestTarget } from '../../src/target/normalize-path.js';
import { FORWARDING_ENGINES, OPERATOR_IDENTITY, usingEngine } from '../helpers/fixtures.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import { exchange, folded, http11, IDENTITY_HEADERS, jsonOf, type HeaderList } from './support.js';

const RUNS = 120;

// Pieces that exercise every rule of the normaliser and of the route table; none contains a space or a line break,
// which would end the request line rather than test the path. Mostly pieces a path may hold, so that a good share
// of targets is routed and forwarded, with hostile ones mixed in.
const ALLOWED = [
  '/', '/', 'api', 'docs', 'a', 'Z', '0', '-', '_', '~', '...', '..a', '%61', '%7e', '%7E', '%20', '%3f', '%23', '%c3%a9',
  '%E2%82%AC', 'http:', 'http:/', 'https:/', ':', "'", '{', '}', '|', '^', '`', '"', '<', '>', '[', ']', '@', '!', '$',
  '(', ')', '*', '+', ',', '=', '&', '?',
];
const HOSTILE = [
  '..', '.', '%2e', '%2E%2e', '%2f', '%2F', '%5c', '%25', '%252e', '%00', '%0a', '%7F', '%3b', '%c0%ae', '%e0%80%ae', '%80',
  '%', '%4', '%zz', '\\', ';', '#', '//', '\t', '\x7f', '\xe9', 'API', '%41PI', 'Docs', '%EF%BC%8F', '%ef%bc%8e', '%E2%88%95',
];
const PREFIXES = ['/', '/api/', '/docs/', '/api', '/docs', '', '//', '/API/', 'http://evil.example/'];

const piece = fc.oneof({ arbitrary: fc.constantFrom(...ALLOWED), weight: 5 }, { arbitrary: fc.constantFrom(...HOSTILE), weight: 1 });
const target = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.array(piece, { maxLength: 12 }))
  .map(([prefix, pieces]) => prefix + pieces.join(''))
  .filter((t) => t.length > 0);

const credential = fc.constantFrom<'valid' | 'none' | 'forged'>('valid', 'none', 'forged');

function isPublic(path: string): boolean {
  return path === '/' || path === '/docs' || path.startsWith('/docs/');
}

function isProtected(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/** Header names a legacy backend reads as one of ours: random case, and '-' spelled '-', '_' or '.'. */
const spelledOwnedName = fc
  .tuple(
    fc.oneof(fc.constantFrom(...IDENTITY_HEADERS), fc.stringMatching(/^[a-z]{1,8}$/).map((s) => `x-portcullis-${s}`)),
    fc.infiniteStream(fc.boolean()),
    fc.infiniteStream(fc.constantFrom('-', '_', '.')),
  )
  .map(([name, upper, separators]) => {
    const cases = upper[Symbol.iterator]();
    const seps = separators[Symbol.iterator]();
    return [...name].map((c) => (c === '-' ? seps.next().value : cases.next().value ? c.toUpperCase() : c)).join('');
  });

const headerValue = fc.string({ unit: fc.constantFrom(...'abcXYZ019 -_.,;:=/*"\'()[]{}<>@!#$%&+?^`|~'), maxLength: 24 }).map((v) => v.trim());

const headerSet = fc.record({
  owned: fc.array(fc.tuple(spelledOwnedName, headerValue), { minLength: 1, maxLength: 12 }),
  nominate: fc.boolean(),
  authenticated: fc.boolean(),
});

describe.each(FORWARDING_ENGINES)('through the running proxy (engine %s)', (engine) => {
  const t = testProxyForSuite({ edit: usingEngine(engine) });
  let token: string;

  beforeAll(async () => {
    token = await accessToken(t.url);
  });

  it('forwards exactly the normalised target, and nothing that was refused', async () => {
    await fc.assert(
      fc.asyncProperty(target, credential, async (raw, cred) => {
        const headers: HeaderList = cred === 'valid' ? [['Authorization', `Bearer ${token}`]] : cred === 'forged' ? [['Authorization', 'Bearer eyJ.eyJ.sig']] : [];
        const { response, upstream } = await exchange(t, http11('GET', raw, headers));
        const decided = normalizeRequestTarget(raw);
        if (upstream.length > 0) {
          // Whatever was forwarded was decided on, once, and sent exactly as decided.
          expect(upstream).toHaveLength(1);
          expect(decided.ok).toBe(true);
          if (!decided.ok) return;
          expect(upstream[0]!.url).toBe(decided.path + decided.search);
          expect(isPublic(decided.path) || (isProtected(decided.path) && cred === 'valid')).toBe(true);
          expect(response.status).toBe(200);
          return;
        }
        // Refused: by Node's parser (400 without a reason), by the normaliser, the route table or authentication.
        expect(response.status).not.toBe(200);
        if (!decided.ok) {
          expect([400, 414, 431]).toContain(response.status);
          return;
        }
        if (jsonOf(response)?.['reason'] === undefined) {
          expect(response.status).toBe(400);
          return;
        }
        if (isProtected(decided.path)) expect(cred).not.toBe('valid');
        else expect(isPublic(decided.path)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('lets no client spelling of an owned header through, only the proxy\'s values', async () => {
    await fc.assert(
      fc.asyncProperty(headerSet, async ({ owned, nominate, authenticated }) => {
        const headers: Array<[string, string]> = [...owned];
        if (nominate) headers.push(['Connection', owned.map(([name]) => name).join(', ')]);
        if (authenticated) headers.push(['Authorization', `Bearer ${token}`]);
        const { response, upstream } = await exchange(t, http11('GET', authenticated ? '/api/dashboard' : '/docs/page', headers));
        expect(response.status).toBe(200);
        expect(upstream).toHaveLength(1);
        const request = upstream[0]!;
        const arrived: Array<[string, string]> = [];
        for (let i = 0; i < request.rawHeaders.length; i += 2) {
          if (folded(request.rawHeaders[i]!).startsWith('x-portcullis-')) arrived.push([request.rawHeaders[i]!.toLowerCase(), request.rawHeaders[i + 1]!]);
        }
        expect(arrived.sort()).toEqual(authenticated ? Object.entries(OPERATOR_IDENTITY).sort() : []);
        expect(request.headers['x-forwarded-for']).toBe('127.0.0.1');
      }),
      { numRuns: RUNS },
    );
  });
});
