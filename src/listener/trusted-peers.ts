// Which peers' X-Forwarded-* headers are believed: the configured trusted proxies, exact addresses or CIDR
// ranges, IPv4 and IPv6 (IPv4-mapped IPv6 addresses count as their IPv4 address).

import { BlockList, isIP } from 'node:net';

/** Peers whose X-Forwarded-* headers are believed: exact addresses or CIDR ranges, IPv4 and IPv6. */
export function compileTrustedPeers(entries: readonly string[]): (address: string) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    const unmapped = address.replace(/^::ffff:/i, '');
    const family = isIP(unmapped);
    return family !== 0 && list.check(unmapped, family === 6 ? 'ipv6' : 'ipv4');
  };
}
