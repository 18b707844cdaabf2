// Which address brute-force protection counts behind chains of trusted proxies.

import { describe, expect, it } from 'vitest';
import { clientAddress } from '../../src/rewrite/forwarded-headers.js';
import { compileTrustedPeers } from '../../src/listener/trusted-peers.js';

describe('clientAddress behind trusted proxies', () => {
  const isTrusted = compileTrustedPeers(['10.0.0.0/8', '192.0.2.7']);
  const address = (xff: string | undefined, peer = '10.1.2.3') =>
    clientAddress({ incoming: xff === undefined ? {} : { 'x-forwarded-for': xff }, peerAddress: peer, trustedPeer: isTrusted(peer), isTrusted });

  it.each([
    ['the client behind one load balancer', '203.0.113.9', '203.0.113.9'],
    ['the client behind a CDN and a load balancer', '203.0.113.9, 192.0.2.7', '203.0.113.9'],
    ['not an address the client prepended', '198.51.100.1, 203.0.113.9, 192.0.2.7', '203.0.113.9'],
    ['the last trusted hop when a client wrote garbage', 'garbage, 192.0.2.7', '192.0.2.7'],
    ['the peer when the header is missing', undefined, '10.1.2.3'],
    ['the leftmost hop when every hop is trusted', '10.9.9.9, 192.0.2.7', '10.9.9.9'],
  ])('%s', (_name, xff, expected) => {
    expect(address(xff)).toBe(expected);
  });

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(address('203.0.113.9', '198.51.100.20')).toBe('198.51.100.20');
    expect(address('203.0.113.9', '::ffff:198.51.100.20')).toBe('198.51.100.20');
  });
});
