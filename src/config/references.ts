// Checks across a parsed config that one schema field alone cannot see: unique ids and logins, one active
// signing key, sections and keys that exist where they are named, one way to reach Redis.

import type { ParsedConfig } from './schema.js';
import { checkExternalIssuers } from './schema/external-issuers.js';

export function duplicates<T>(items: readonly T[], key: (item: T) => string): Set<number> {
  const seen = new Set<string>();
  const repeated = new Set<number>();
  items.forEach((item, index) => {
    const k = key(item);
    if (seen.has(k)) repeated.add(index);
    seen.add(k);
  });
  return repeated;
}

export function checkReferences(config: ParsedConfig, problems: { path: (string | number)[]; message: string }[]): void {
  const add = (path: (string | number)[], message: string) => problems.push({ path, message });
  for (const i of duplicates(config.routes, (r) => r.id)) add(['routes', i, 'id'], 'route ids must be unique');
  for (const i of duplicates(config.oauth.clients, (c) => c.id)) add(['oauth', 'clients', i, 'id'], 'client ids must be unique');
  for (const i of duplicates(config.operators, (o) => o.login)) add(['operators', i, 'login'], 'operator logins must be unique');
  for (const i of duplicates(config.tokens.signingKeys, (k) => k.kid)) add(['tokens', 'signingKeys', i, 'kid'], 'kids must be unique');
  const active = config.tokens.signingKeys.filter((k) => k.active).length;
  if (config.tokens.signingKeys.length > 1 && active !== 1) {
    add(['tokens', 'signingKeys'], `exactly one key must be "active: true" (found ${active})`);
  }
  const usesPcr = config.routes.some((r) => r.authenticators?.includes('pcr-api-key'));
  if (usesPcr && !config.pcr) add(['routes'], 'a route uses the "pcr-api-key" authenticator but there is no "pcr" section');
  checkExternalIssuers(config, add);
  // Forward-auth believes the original method and URI only from a trusted proxy and refuses every other caller,
  // so with no trusted proxy every call would be 403: a setup that cannot work is refused at load instead.
  if (config.forwardAuth !== undefined && config.listen.trustedProxies.length === 0) {
    add(['forwardAuth'], 'forward-auth answers only the proxies in listen.trustedProxies, and none is listed: add the address of the nginx, Traefik or Envoy that asks');
  }
  if (config.listen.httpRedirect !== undefined && config.listen.tls === undefined) {
    add(['listen', 'httpRedirect'], 'a redirect to https needs listen.tls: without it there is no https listener to redirect to');
  }
  if (config.store.type === 'redis') {
    const s = config.store;
    const ways = [s.url !== undefined || s.host !== undefined, s.sentinel !== undefined, s.cluster !== undefined].filter(Boolean).length;
    if (ways !== 1) add(['store'], 'a Redis store needs exactly one of: url (or host/port), sentinel, cluster');
  }
  const pcr = config.pcr;
  if (!pcr) return;
  const sections = new Set(pcr.sections);
  for (const [name, type] of Object.entries(pcr.requestTypes)) {
    if (type.section !== '*' && !sections.has(type.section)) {
      add(['pcr', 'requestTypes', name, 'section'], `unknown section "${type.section}" (sections: ${pcr.sections.join(', ')})`);
    }
  }
  if (!sections.has(pcr.reportSection)) add(['pcr', 'reportSection'], `unknown section "${pcr.reportSection}"`);
  for (const i of duplicates(pcr.keys, (k) => k.id)) add(['pcr', 'keys', i, 'id'], 'key ids must be unique');
  pcr.keys.forEach((key, i) => {
    for (const access of ['read', 'write'] as const) {
      key[access].forEach((section, j) => {
        if (!sections.has(section)) add(['pcr', 'keys', i, access, j], `unknown section "${section}"`);
      });
    }
  });
  const keyIds = new Set(pcr.keys.map((k) => k.id));
  for (const i of duplicates(pcr.users, (u) => u.login)) add(['pcr', 'users', i, 'login'], 'API user logins must be unique');
  pcr.users.forEach((user, i) => {
    user.keys.forEach((keyId, j) => {
      if (!keyIds.has(keyId)) add(['pcr', 'users', i, 'keys', j], `unknown API key id "${keyId}"`);
    });
  });
}
