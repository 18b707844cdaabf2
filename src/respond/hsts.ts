// Strict-Transport-Security (RFC 6797) on the proxy's own answers over TLS. A browser takes the policy from any
// answer of the host, so the proxy's own endpoints carry it; forwarded answers keep what the upstream decided
// (its own header, or none), since a policy the portal never chose, such as includeSubDomains, would bind hosts
// the proxy does not front.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ListenerTlsConfig } from '../config/schema/tls.js';

/** The header's value for a listener's TLS settings; null when TLS is off or `hsts: false`. */
export function hstsHeaderValue(tls: ListenerTlsConfig | undefined): string | null {
  if (tls === undefined || tls.hsts === false) return null;
  const { maxAge, includeSubDomains, preload } = tls.hsts;
  return `max-age=${Math.floor(maxAge / 1000)}${includeSubDomains ? '; includeSubDomains' : ''}${preload ? '; preload' : ''}`;
}

/** Adds the header when there is a policy and the request came over TLS: RFC 6797 §7.2 forbids it in plain text. */
export function addHsts(req: IncomingMessage, res: ServerResponse, value: string | null): void {
  if (value !== null && (req.socket as { encrypted?: boolean }).encrypted === true) res.setHeader('strict-transport-security', value);
}
