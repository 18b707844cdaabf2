// The client's address as brute-force protection counts it (the socket's peer, or X-Forwarded-For walked from
// the right when the peer is a trusted proxy), and the origin the client reached the proxy at.

import type { IncomingMessage } from 'node:http';
import { clientAddress, forwardedHeaders } from '../rewrite/forwarded-headers.js';

export function requestClientAddress(req: IncomingMessage, isTrustedPeer: (address: string) => boolean): string {
  const peerAddress = req.socket.remoteAddress ?? '';
  return clientAddress({ incoming: req.headers, peerAddress, trustedPeer: isTrustedPeer(peerAddress), isTrusted: isTrustedPeer });
}

/**
 * The origin clients reach the proxy at, e.g. for endpoint URLs in metadata: scheme and host as a trusted proxy
 * reports them (X-Forwarded-Proto / -Host), or as this connection shows them; null without a well-formed host.
 */
export function requestOrigin(req: IncomingMessage, isTrustedPeer: (address: string) => boolean): string | null {
  const peerAddress = req.socket.remoteAddress ?? '';
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const forwarded = forwardedHeaders({ incoming: req.headers, peerAddress, encrypted, trustedPeer: isTrustedPeer(peerAddress) });
  return forwarded['x-forwarded-host'] === '' ? null : `${forwarded['x-forwarded-proto']}://${forwarded['x-forwarded-host']}`;
}
