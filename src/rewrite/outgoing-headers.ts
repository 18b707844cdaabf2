// The headers the upstream receives: the client's headers without credentials and without anything that could
// pass for one of our identity headers, the X-Forwarded-* chain, and the identity the proxy vouches for.

import type { IncomingMessage } from 'node:http';
import type { Identity } from '../authenticate/contract.js';
import { addIdentityHeaders, type IdentityHeaderNames } from './identity-headers.js';
import { forwardedHeaders } from './forwarded-headers.js';
import { sanitizeRequestHeaders, type HeaderPolicy } from './sanitize-headers.js';

export interface RewritePolicy {
  headerPolicy: HeaderPolicy;
  identityNames: IdentityHeaderNames;
  isTrustedPeer(address: string): boolean;
}

/** `identity` is null on public routes: nothing is vouched for, but spoofed identity headers are still removed. */
export function outgoingHeaders(req: IncomingMessage, policy: RewritePolicy, identity: Identity | null): Record<string, string | string[]> {
  const headers = sanitizeRequestHeaders(req.headers, policy.headerPolicy);
  const forwarded = forwardedHeaders({
    incoming: req.headers,
    peerAddress: req.socket.remoteAddress ?? '',
    encrypted: 'encrypted' in req.socket && req.socket.encrypted === true,
    trustedPeer: policy.isTrustedPeer(req.socket.remoteAddress ?? ''),
  });
  headers['x-forwarded-for'] = forwarded['x-forwarded-for'];
  headers['x-forwarded-proto'] = forwarded['x-forwarded-proto'];
  if (forwarded['x-forwarded-host'] !== '') headers['x-forwarded-host'] = forwarded['x-forwarded-host'];
  if (identity !== null) addIdentityHeaders(headers, identity, policy.identityNames);
  return headers;
}
