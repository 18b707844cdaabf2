// Property checks for the two request-hygiene steps: path normalisation is total, idempotent and leaves nothing
// a downstream decoder could re-read as a separator, and header sanitising never lets an owned, credential,
// hop-by-hop or routing header through however its name is spelled.

import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeRequestTarget } from '../../src/target/normalize-path.js';
import {
  HOP_BY_HOP_HEADERS,
  SPOOFABLE_ROUTING_HEADERS,
  canonicalHeaderName,
  compileHeaderPolicy,
  sanitizeRequestHeaders,
} from '../../src/rewrite/sanitize-headers.js';

const RUNS = 2000;

// Pieces that exercise every rule; joined at random they produce both accepted and rejected targets.
const HOSTILE_TOKENS = [
  '/', '/', '/', 'a', 'Z', '0', '-', '_', '~', '.', '..', '%2e', '%2E', '%2e%2e', '%61', '%41', '%7e', '%5F',
  '%20', '%3f', '%3A', '%c3%a9', '%C3%A9', '%e2%82%ac', '%F0%9F%98%80', '%2f', '%2F', '%5c', '%5C', '%25',
  '%252e', '%00', '%0a', '%7F', '%3b', '%c0%ae', '%C0%AF', '%e0%80%ae', '%80', '%c3', '%', '%4', '%zz', '\\',
  ';', '#', '?', '=', '&', ' ', '\t', '\u00e9', '\u007f', 'http:', '*', '//',
];
// Mostly harmless pieces, so that a good share of generated targets is accepted and the ok-branch is exercised.
const MILD_TOKENS = [
  '/', '/', 'a', 'b', 'Q', '9', '-', '_', '~', '.', '...', '.x', '%2e', '%2E', '%61', '%4a', '%7E', '%2d',
  '%20', '%3f', '%3F', '%40', '%c3%a9', '%e2%82%AC', '?', 'k=v', '/..', '%2e%2e', '%',
];

const tokens = (pieces: string[]) => fc.array(fc.constantFrom(...pieces), { maxLength: 24 }).map((p) => p.join(''));
const hostileTarget = fc.oneof(tokens(HOSTILE_TOKENS), tokens(HOSTILE_TOKENS).map((t) => '/' + t));
const mildTarget = tokens(MILD_TOKENS).map((t) => '/' + t);
const anyTarget = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }).map((t) => '/' + t),
  hostileTarget,
  mildTarget,
);

const DOT_SEGMENT = /^\.\.?$/;
const FORBIDDEN_ESCAPE = /%(?:2F|5C|25|00)/i;

function checkNormalisedPath(path: string, search: string): void {
  expect(path.startsWith('/')).toBe(true);
  expect(path).not.toContain('//');
  expect(path).not.toContain('\\');
  expect(path).not.toContain(';');
  expect(path).not.toContain('?');
  expect(path).not.toMatch(FORBIDDEN_ESCAPE);
  // Only upper-case hex, and never an escape of an unreserved character.
  expect(path).not.toMatch(/%(?:[a-f].|.[a-f])/);
  expect(path).not.toMatch(/%(?:4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|3[0-9]|2D|2E|5F|7E)/);
  expect(search === '' || search.startsWith('?')).toBe(true);

  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const raw = segments[i]!;
    // Only a single trailing slash may leave an empty segment.
    if (raw === '') expect(i).toBe(segments.length - 1);
    const decoded = decodeURIComponent(raw);
    expect(decoded).not.toContain('/');
    expect(decoded).not.toContain('\\');
    expect(decoded).not.toMatch(DOT_SEGMENT);
  }
}

describe('normalizeRequestTarget properties', () => {
  it('never throws and always returns a well-formed result', () => {
    fc.assert(
      fc.property(anyTarget, fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }), (target, max) => {
        const r = normalizeRequestTarget(target, max);
        if (r.ok) return;
        expect(r.status === 400 || r.status === 414).toBe(true);
        expect(r.status === 414).toBe(r.reason === 'path_too_long');
      }),
      { numRuns: RUNS },
    );
  });

  it('accepted paths are fixed points free of ambiguity', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(mildTarget, hostileTarget, mildTarget), (target) => {
        const r = normalizeRequestTarget(target);
        if (!r.ok) return;
        accepted++;
        checkNormalisedPath(r.path, r.search);
        expect(normalizeRequestTarget(r.path + r.search)).toEqual(r);
      }),
      { numRuns: RUNS },
    );
    // Guards against a generator drift that would make the property vacuous.
    expect(accepted).toBeGreaterThan(RUNS / 10);
  });

  it('every spelling of an unreserved character routes to the same path', () => {
    const unreservedChar = fc.constantFrom(...'abcXYZ019-._~');
    const segment = fc
      .array(unreservedChar, { minLength: 1, maxLength: 8 })
      .map((cs) => cs.join(''))
      .filter((s) => !DOT_SEGMENT.test(s));
    const cleanPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((segs) => '/' + segs.join('/'));
    const spelled = cleanPath.chain((path) =>
      fc.array(fc.nat(2), { minLength: path.length, maxLength: path.length }).map((choices) => {
        let out = '';
        for (let i = 0; i < path.length; i++) {
          const ch = path[i]!;
          const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
          if (ch === '/' || choices[i] === 0) out += ch;
          else out += '%' + (choices[i] === 1 ? hex.toLowerCase() : hex.toUpperCase());
        }
        return [path, out] as const;
      }),
    );
    fc.assert(
      fc.property(spelled, ([path, encoded]) => {
        expect(normalizeRequestTarget(encoded)).toEqual({ ok: true, path, search: '' });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('sanitizeRequestHeaders properties', () => {
  const ownedNames = ['x-remote-user', 'x-auth-subject', 'x-auth-roles', 'pcr-user'];
  const ownedPrefixes = ['x-portcullis-', 'x-sso-'];
  const credentialNames = ['authorization', 'pcr-auth-token', 'pcr-auth-username', 'pcr-auth-password', 'proxy-authorization'];
  const policy = compileHeaderPolicy({ ownedNames, ownedPrefixes, credentialNames });

  const forbidden = new Set([...ownedNames, ...credentialNames, ...HOP_BY_HOP_HEADERS, ...SPOOFABLE_ROUTING_HEADERS]);
  const isForbidden = (key: string): boolean => {
    const c = canonicalHeaderName(key);
    return forbidden.has(c) || ownedPrefixes.some((p) => c.startsWith(p));
  };

  /** Respells a canonical name with random case and random '-', '_' or '.' separators. */
  const respelled = (names: fc.Arbitrary<string>) =>
    names.chain((name) =>
      fc.array(fc.nat(5), { minLength: name.length, maxLength: name.length }).map((choices) => {
        let out = '';
        for (let i = 0; i < name.length; i++) {
          const ch = name[i]!;
          const pick = choices[i]!;
          if (ch === '-') out += pick < 2 ? '-' : pick < 4 ? '_' : '.';
          else out += pick % 2 === 0 ? ch : ch.toUpperCase();
        }
        return out;
      }),
    );

  const suffix = fc.stringMatching(/^[a-z0-9-]{0,12}$/);
  const droppedName = fc.oneof(
    respelled(fc.constantFrom(...forbidden)),
    respelled(fc.tuple(fc.constantFrom(...ownedPrefixes), suffix).map(([p, s]) => p + s)),
  );
  // A distinct namespace guarantees benign names can never collide with a dropped one, whatever the case.
  const benignName = fc.stringMatching(/^[a-z0-9]{1,12}$/).chain((s) => respelled(fc.constant(`x-benign-${s}`)));
  const value = fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 10 }), { minLength: 1, maxLength: 3 }));

  const headerMap = fc
    .tuple(
      fc.array(fc.tuple(droppedName, value), { maxLength: 12 }),
      fc.array(fc.tuple(benignName, value), { maxLength: 8 }),
      fc.option(fc.array(droppedName, { minLength: 1, maxLength: 4 }), { nil: undefined }),
      fc.boolean(),
    )
    .map(([dropped, benign, nominated, droppedFirst]) => {
      const headers: IncomingHttpHeaders = {};
      const benignKeys = new Set<string>();
      const add = (entries: [string, string | string[]][]) => {
        for (const [k, v] of entries) headers[k] = v;
      };
      if (droppedFirst) add(dropped);
      for (const [k, v] of benign) {
        headers[k] = v;
        benignKeys.add(k);
      }
      if (!droppedFirst) add(dropped);
      if (nominated !== undefined) headers['connection'] = ['keep-alive', ...nominated].join(', ');
      return { headers, benignKeys };
    });

  it('lets no owned, credential, hop-by-hop or routing header through, and keeps benign ones intact', () => {
    fc.assert(
      fc.property(headerMap, ({ headers, benignKeys }) => {
        const before = structuredClone(headers);
        const out = sanitizeRequestHeaders(headers, policy);
        for (const key of Object.keys(out)) {
          expect(isForbidden(key), key).toBe(false);
          expect(benignKeys.has(key), key).toBe(true);
        }
        for (const key of benignKeys) expect(out[key]).toEqual(headers[key]);
        expect(headers).toEqual(before);
      }),
      { numRuns: RUNS },
    );
  });
});
