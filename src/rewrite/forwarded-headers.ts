// The X-Forwarded-* headers the proxy vouches for, and the client address it believes: the peer's own, or taken
// from X-Forwarded-For walking right to left through trusted proxies. A client's own claims are believed only
// when it is a trusted proxy, and only when they are well formed.

import type { IncomingHttpHeaders } from 'node:http';
import { isIP, isIPv4 } from 'node:net';

const IPV4_MAPPED = /^::ffff:/i;

/** Drops the '::ffff:' of an IPv4-mapped IPv6 address so one client has one spelling. */
function unmapIPv4(address: string): string {
  if (address.length > 7 && IPV4_MAPPED.test(address)) {
    const v4 = address.slice(7);
    if (isIPv4(v4)) return v4;
  }
  return address;
}

/**
 * Parses one X-Forwarded-For entry: a bare address, '[v6]', '[v6]:port' or 'v4:port'. Returns the bare,
 * unmapped address, or undefined when the entry is not an IP address at all.
 */
function parseForwardedAddress(entry: string): string | undefined {
  let a = entry.trim();
  if (a.startsWith('[')) {
    const close = a.indexOf(']');
    if (close === -1) return undefined;
    const rest = a.slice(close + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    a = a.slice(1, close);
    return isIP(a) === 6 ? unmapIPv4(a) : undefined;
  }
  const colon = a.indexOf(':');
  if (colon !== -1 && colon === a.lastIndexOf(':')) {
    if (!/^\d{1,5}$/.test(a.slice(colon + 1))) return undefined;
    a = a.slice(0, colon);
    return isIPv4(a) ? a : undefined;
  }
  return isIP(a) === 0 ? undefined : unmapIPv4(a);
}

function single(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(', ');
}

/** Every entry of an X-Forwarded-For chain, or undefined when any entry is not an address. */
function parseForwardedFor(value: string | string[] | undefined): string[] | undefined {
  const raw = single(value);
  if (raw === undefined || raw.trim() === '') return undefined;
  const entries = raw.split(',');
  for (let i = 0; i < entries.length; i++) {
    const parsed = parseForwardedAddress(entries[i]);
    if (parsed === undefined) return undefined;
    entries[i] = parsed;
  }
  return entries;
}

// reg-name limited to unreserved characters, or a bracketed IPv6 literal; optional port.
const HOST_RE = /^(?:[A-Za-z0-9][A-Za-z0-9._~-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

function wellFormedHost(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const host = value.trim();
  return HOST_RE.test(host) ? host : undefined;
}

function wellFormedProto(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const proto = value.trim().toLowerCase();
  return proto === 'http' || proto === 'https' ? proto : undefined;
}

/**
 * Builds X-Forwarded-For / -Proto / -Host for the upstream. When trustedPeer is false, the client's own values
 * are ignored (replaced, not appended to). A trusted peer's chain is only extended when every entry is an
 * address; otherwise it is replaced too. 'x-forwarded-host' is '' when no well-formed host is known.
 */
export function forwardedHeaders(input: {
  incoming: IncomingHttpHeaders;
  peerAddress: string;
  encrypted: boolean;
  trustedPeer: boolean;
}): { 'x-forwarded-for': string; 'x-forwarded-proto': string; 'x-forwarded-host': string } {
  const { incoming, trustedPeer } = input;
  const peer = unmapIPv4(input.peerAddress);
  let xff = peer;
  let proto = input.encrypted ? 'https' : 'http';
  let host = wellFormedHost(incoming.host) ?? '';
  if (trustedPeer) {
    const chain = parseForwardedFor(incoming['x-forwarded-for']);
    if (chain !== undefined) xff = `${chain.join(', ')}, ${peer}`;
    proto = wellFormedProto(incoming['x-forwarded-proto']) ?? proto;
    host = wellFormedHost(incoming['x-forwarded-host']) ?? host;
  }
  return { 'x-forwarded-for': xff, 'x-forwarded-proto': proto, 'x-forwarded-host': host };
}

/**
 * The address to rate-limit on. Behind a trusted peer it is found by walking X-Forwarded-For from the right and
 * skipping the addresses of trusted proxies (`isTrusted`, or none when not given), so that a chain such as
 * CDN -> load balancer -> proxy yields the client rather than the CDN; an entry that is not an address stops the
 * walk (a client wrote it) and the last trusted hop is used. Without a trusted peer: the socket's peer.
 */
export function clientAddress(input: {
  incoming: IncomingHttpHeaders;
  peerAddress: string;
  trustedPeer: boolean;
  isTrusted?: (address: string) => boolean;
}): string {
  const peer = unmapIPv4(input.peerAddress);
  if (!input.trustedPeer) return peer;
  const raw = single(input.incoming['x-forwarded-for']);
  if (raw === undefined) return peer;
  const entries = raw.split(',');
  let candidate = peer;
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = parseForwardedAddress(entries[i] as string);
    if (address === undefined) return candidate;
    candidate = address;
    if (input.isTrusted === undefined || !input.isTrusted(address)) return address;
  }
  return candidate;
}
