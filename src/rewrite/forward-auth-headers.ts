// The headers of a forward-auth answer, and the request headers that make one impossible. In line the proxy
// removes every header a client could use to pass for an identity or to change the path or method a backend
// serves; beside nginx, Traefik or Envoy it cannot remove anything from what they forward, so a sub-request that
// still carries such a header is refused instead, and the headers to copy upstream are handed back.

import type { IncomingHttpHeaders } from 'node:http';
import type { Identity } from '../authenticate/contract.js';
import { addIdentityHeaders, type IdentityHeaderNames } from './identity-headers.js';
import { canonicalHeaderName, type HeaderPolicy } from './sanitize-headers.js';

/** The path and query the proxy in front forwards: the client's key swapped or removed, as in line. */
export const FORWARD_PATH_HEADER = 'x-portcullis-forward-path';

/** Headers some backends honour as the method or the URL to serve (IIS, Symfony, Rails, Express middleware). */
const TARGET_OVERRIDE_HEADERS: ReadonlySet<string> = new Set(['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url']);

/** The first header only the proxy may set (an identity header, an owned prefix, a target override), or null. */
export function headerOnlyTheProxyMaySet(headers: IncomingHttpHeaders, policy: HeaderPolicy): string | null {
  for (const name of Object.keys(headers)) {
    const canonical = canonicalHeaderName(name);
    if (TARGET_OVERRIDE_HEADERS.has(canonical) || policy.ownedNames.has(canonical)) return name;
    for (const prefix of policy.ownedPrefixes) if (canonical.startsWith(prefix)) return name;
  }
  return null;
}

/** The answer to an allowed request: the identity to copy upstream (none on a public route) and the path to forward. */
export function forwardAuthPassHeaders(identity: Identity | null, names: IdentityHeaderNames, forwardPath: string): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { 'cache-control': 'no-store', 'content-length': '0', [FORWARD_PATH_HEADER]: forwardPath };
  if (identity !== null) addIdentityHeaders(headers, identity, names);
  return headers;
}
