// Which configured admin certificate identity a request's TLS client certificate is, if any. Only a certificate
// the listener verified against admin.tls.caFile counts (`socket.authorized`): with `clientAuth: optional` an
// unverified one still reaches the application, and its subject says nothing anyone vouched for.

import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { parseDistinguishedName, peerSubject, sameDistinguishedName } from '../config/distinguished-name.js';
import type { CertificateIdentityConfig } from '../config/schema/admin-certificates.js';

/** The identity whose subject is exactly the verified client certificate's, or null (no TLS, none, unverified, unlisted). */
export function identifyClientCertificate(socket: Socket, identities: readonly CertificateIdentityConfig[]): CertificateIdentityConfig | null {
  if (identities.length === 0 || !(socket instanceof TLSSocket) || socket.authorized !== true) return null;
  const certificate = socket.getPeerCertificate();
  // Node answers an empty object when the peer sent no certificate.
  if (certificate === null || typeof certificate !== 'object' || certificate.subject === undefined) return null;
  const presented = peerSubject(certificate.subject as unknown as Record<string, string | string[]>);
  if (presented.length === 0) return null;
  for (const identity of identities) {
    const wanted = parseDistinguishedName(identity.subject);
    // Load refuses an unparsable subject; a string here would be a config that skipped validation.
    if (typeof wanted !== 'string' && sameDistinguishedName(presented, wanted)) return identity;
  }
  return null;
}
