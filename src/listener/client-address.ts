// The client's address as brute-force protection counts it: the socket's peer, or X-Forwarded-For walked from
// the right when the peer is a trusted proxy.

import type { IncomingMessage } from 'node:http';
import { clientAddress } from '../rewrite/forwarded-headers.js';

export function requestClientAddress(req: IncomingMessage, isTrustedPeer: (address: string) => boolean): string {
  const peerAddress = req.socket.remoteAddress ?? '';
  return clientAddress({ incoming: req.headers, peerAddress, trustedPeer: isTrustedPeer(peerAddress), isTrusted: isTrustedPeer });
}
