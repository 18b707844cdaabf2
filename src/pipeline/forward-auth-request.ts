// The original request a proxy in front asks about, as each proxy names it: nginx `auth_request` in the
// X-Original-URI and X-Original-Method headers its config sets, Traefik ForwardAuth in X-Forwarded-Uri and
// X-Forwarded-Method (always sent), Envoy's HTTP ext_authz by appending the original path and query to the
// endpoint's path and keeping the original method. Exactly one of these must name it, each header once: a proxy
// passes the client's own headers on, so a second spelling could be the client's and is refused, never chosen.

import { METHODS, type IncomingMessage } from 'node:http';
import { headerCount } from '../authenticate/contract.js';
import type { DenialReason } from '../errors/reasons.js';

export type OriginalRequest = { ok: true; method: string; target: string } | { ok: false; reason: DenialReason };

interface HeaderConvention {
  uri: string;
  method: string;
}

const NGINX: HeaderConvention = { uri: 'x-original-uri', method: 'x-original-method' };
const TRAEFIK: HeaderConvention = { uri: 'x-forwarded-uri', method: 'x-forwarded-method' };
const CONVENTIONS: readonly HeaderConvention[] = [NGINX, TRAEFIK];

/** The methods Node's own parser accepts on a request line: in line, no other method can arrive either. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(METHODS);

const MISSING: OriginalRequest = Object.freeze({ ok: false, reason: 'forward_auth_original_missing' });
const AMBIGUOUS: OriginalRequest = Object.freeze({ ok: false, reason: 'forward_auth_original_ambiguous' });
const METHOD_INVALID: OriginalRequest = Object.freeze({ ok: false, reason: 'forward_auth_method_invalid' });

function names(req: IncomingMessage, convention: HeaderConvention): boolean {
  return req.headers[convention.uri] !== undefined || req.headers[convention.method] !== undefined;
}

/** The one value of a header sent once; null when it is absent, 'repeated' when it came more than once. */
function once(req: IncomingMessage, name: string): string | null | 'repeated' {
  const value = req.headers[name];
  if (value === undefined) return null;
  if (typeof value !== 'string' || headerCount(req.rawHeaders, name) > 1) return 'repeated';
  return value;
}

/**
 * `appended` is the target a prefix call carries after the endpoint's path (Envoy), or null when the call is
 * addressed to the endpoint itself and the original request must be named in headers (nginx, Traefik).
 */
export function originalRequest(req: IncomingMessage, appended: string | null): OriginalRequest {
  const naming = CONVENTIONS.filter((convention) => names(req, convention));
  if (appended !== null) {
    if (naming.length > 0) return AMBIGUOUS;
    return { ok: true, method: req.method ?? 'GET', target: appended };
  }
  const [convention, other] = naming;
  if (convention === undefined) return MISSING;
  if (other !== undefined) return AMBIGUOUS;
  const uri = once(req, convention.uri);
  const method = once(req, convention.method);
  if (uri === 'repeated' || method === 'repeated') return AMBIGUOUS;
  // Without the method a write could be decided as the sub-request's own GET, a read.
  if (uri === null || method === null) return MISSING;
  if (!KNOWN_METHODS.has(method)) return METHOD_INVALID;
  return { ok: true, method, target: uri };
}
