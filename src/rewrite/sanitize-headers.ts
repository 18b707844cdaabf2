// Decides which client request headers may reach the upstream. Names are compared canonically because legacy backends (CGI, PHP, IIS) fold '-', '_' and '.'
// together, so 'X_Portcullis_User' must be treated exactly like 'x-portcullis-user'.

import type { IncomingHttpHeaders } from 'node:http';

/** Connection-level headers that never travel past one hop. */
export const HOP_BY_HOP_HEADERS: readonly string[] = Object.freeze([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
]);

/**
 * Headers a client could use to claim another origin address, scheme, host, URL or method. Backends behind
 * the proxy trust these, so only the proxy may set them.
 */
export const SPOOFABLE_ROUTING_HEADERS: readonly string[] = Object.freeze([
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-forwarded-method',
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'x-cluster-client-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-original-method',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-host',
  'x-host',
  // Scheme and address hints that IIS, PHP frameworks and older load balancers also honour.
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-url-scheme',
  'front-end-https',
  'x-forwarded',
  'forwarded-for',
  'x-remote-ip',
  'x-remote-addr',
  'x-originating-ip',
  'client-ip',
]);

/** Lower-case, with '_' and '.' folded to '-' : how header names are compared for ownership. */
export function canonicalHeaderName(name: string): string {
  const len = name.length;
  let i = 0;
  for (; i < len; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x2e) break;
  }
  if (i === len) return name;
  // ASCII-only folding: String#toLowerCase would map e.g. the Kelvin sign to 'k', which HTTP never does.
  let out = name.slice(0, i);
  for (; i < len; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) out += String.fromCharCode(c + 0x20);
    else if (c === 0x5f || c === 0x2e) out += '-';
    else out += name[i];
  }
  return out;
}

export interface HeaderPolicy {
  /** Canonical names the proxy itself sets (identity headers); any incoming header that canonicalises to one is dropped. */
  ownedNames: ReadonlySet<string>;
  /** Canonical prefixes the proxy owns (e.g. 'x-portcullis-'); dropped likewise. */
  ownedPrefixes: readonly string[];
  /** Client credentials never forwarded (canonical): e.g. 'authorization', 'pcr-auth-token', 'pcr-auth-username', 'pcr-auth-password', 'proxy-authorization'. */
  credentialNames: ReadonlySet<string>;
}

function canonicalList(kind: string, names: readonly string[]): string[] {
  return names.map((n) => {
    const canonical = canonicalHeaderName(n.trim());
    // An empty name or prefix would match nothing or, as a prefix, everything: both are configuration bugs.
    if (canonical === '') throw new TypeError(`header policy: empty ${kind}`);
    return canonical;
  });
}

export function compileHeaderPolicy(input: {
  ownedNames: string[];
  ownedPrefixes: string[];
  credentialNames: string[];
}): HeaderPolicy {
  return Object.freeze({
    ownedNames: new Set(canonicalList('owned name', input.ownedNames)),
    ownedPrefixes: Object.freeze([...new Set(canonicalList('owned prefix', input.ownedPrefixes))]),
    credentialNames: new Set(canonicalList('credential name', input.credentialNames)),
  });
}

const ALWAYS_DROPPED: ReadonlySet<string> = new Set([...HOP_BY_HOP_HEADERS, ...SPOOFABLE_ROUTING_HEADERS]);

// A client must not be able to strip framing or the Host through Connection nomination: losing Content-Length
// while the body is still streamed would let the upstream read the body as a second request.
const NOT_NOMINATABLE: ReadonlySet<string> = new Set(['host', 'content-length']);

function isDropped(canonical: string, policy: HeaderPolicy): boolean {
  if (ALWAYS_DROPPED.has(canonical) || policy.credentialNames.has(canonical) || policy.ownedNames.has(canonical)) {
    return true;
  }
  const prefixes = policy.ownedPrefixes;
  for (let i = 0; i < prefixes.length; i++) {
    if (canonical.startsWith(prefixes[i])) return true;
  }
  return false;
}

const KEEP = 0;
const DROP = 1;
const CONNECTION = 2;
type Verdict = typeof KEEP | typeof DROP | typeof CONNECTION;

// The same few dozen header spellings arrive on every request, so the verdict is cached per raw name and
// policy. The bound keeps clients that invent names from growing it; clearing lets the common names back in.
const VERDICT_CACHE_LIMIT = 1024;
const verdictCaches = new WeakMap<HeaderPolicy, Map<string, Verdict>>();

function verdictFor(key: string, policy: HeaderPolicy, cache: Map<string, Verdict>): Verdict {
  let verdict = cache.get(key);
  if (verdict !== undefined) return verdict;
  const canonical = canonicalHeaderName(key);
  if (canonical === 'connection') verdict = CONNECTION;
  // '__proto__' cannot be set as data on a plain object; dropping it is the only predictable outcome.
  else verdict = key === '__proto__' || isDropped(canonical, policy) ? DROP : KEEP;
  if (cache.size >= VERDICT_CACHE_LIMIT) cache.clear();
  cache.set(key, verdict);
  return verdict;
}

/** Canonical names listed in Connection that are not dropped anyway; null in the usual 'keep-alive'/'close' case. */
function nominatedHeaders(value: string | string[]): string[] | null {
  const joined = typeof value === 'string' ? value : value.join(',');
  if (joined === 'keep-alive' || joined === 'close') return null;
  let nominated: string[] | null = null;
  let start = 0;
  while (start <= joined.length) {
    let comma = joined.indexOf(',', start);
    if (comma === -1) comma = joined.length;
    const token = canonicalHeaderName(joined.slice(start, comma).trim());
    start = comma + 1;
    if (token === '' || token === 'close' || ALWAYS_DROPPED.has(token) || NOT_NOMINATABLE.has(token)) continue;
    (nominated ??= []).push(token);
  }
  return nominated;
}

function withoutNominated(
  headers: Record<string, string | string[]>,
  nominated: readonly string[],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of Object.keys(headers)) {
    if (!nominated.includes(canonicalHeaderName(key))) out[key] = headers[key];
  }
  return out;
}

/**
 * Builds the header object to send upstream from Node's parsed `req.headers` (IncomingHttpHeaders: lower-case keys,
 * duplicates joined or arrays). Returns a NEW object (never mutates the input). Verdicts are cached per policy
 * object, so a policy must not be changed after it has been used.
 */
export function sanitizeRequestHeaders(
  headers: IncomingHttpHeaders,
  policy: HeaderPolicy,
): Record<string, string | string[]> {
  let cache = verdictCaches.get(policy);
  if (cache === undefined) {
    cache = new Map();
    verdictCaches.set(policy, cache);
  }
  const out: Record<string, string | string[]> = {};
  let nominated: string[] | null = null;
  // Object.keys rather than for-in: enumerable properties on a polluted Object.prototype must not become headers.
  const keys = Object.keys(headers);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const value = headers[key];
    if (value === undefined) continue;
    const verdict = verdictFor(key, policy, cache);
    if (verdict === KEEP) {
      // Arrays are copied so that later edits to the outgoing headers cannot reach back into req.headers.
      out[key] = typeof value === 'string' ? value : value.slice();
    } else if (verdict === CONNECTION) {
      // Node lower-cases keys, but callers may hand over any spelling of Connection, or several.
      const found = nominatedHeaders(value);
      if (found !== null) nominated = nominated === null ? found : nominated.concat(found);
    }
  }
  return nominated === null ? out : withoutNominated(out, nominated);
}
