// `portcullis check-config FILE`: validates a config completely (including secrets and keys) and prints a
// summary, without starting anything.

import { parseArgs } from 'node:util';
import { ConfigError, type ResolvedClient } from '../config/load.js';
import { loadConfigFile } from '../config-loader.js';
import { formatDuration } from '../config/duration.js';
import { KeyRing, KeyRingError } from '../tokens/keyring.js';

function clientSummary(c: ResolvedClient): string {
  const extras = [
    ...(c.allowsClientCredentials && c.serviceIdentity !== undefined ? [`acts as "${c.serviceIdentity.name}"`] : []),
    ...(c.mayIntrospect ? ['introspects'] : []),
  ];
  return `${c.id} [${c.grants.join(', ')}; access ${formatDuration(c.accessTokenTtl)}, refresh ${formatDuration(c.refreshTokenTtl)}${extras.map((e) => `; ${e}`).join('')}]`;
}

export async function runCheckConfig(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string' } } });
  const file = positionals[0] ?? values.config ?? process.env['PORTCULLIS_CONFIG'];
  if (file === undefined) {
    console.error('portcullis check-config: name the config file: portcullis check-config FILE');
    return 2;
  }
  try {
    const config = await loadConfigFile(file);
    const keys = KeyRing.fromMaterial(config.signingKeys, config.parsed.tokens.algorithm);
    const p = config.parsed;
    const lines = [
      `${file}: OK`,
      `  listen       ${p.listen.host}:${p.listen.port}`,
      `  upstream     ${p.upstream.url === 'demo' ? 'built-in demo backend' : p.upstream.url} (timeout ${formatDuration(p.upstream.timeout)})`,
      `  store        ${p.store.type}`,
      `  signing      ${p.tokens.algorithm}, ${keys.development ? 'no key configured: a development key will be generated' : `active kid ${keys.active.kid}, ${config.signingKeys.length} key(s)`}`,
      `  oauth        scope "${p.oauth.scope}", ${config.clients.size} client(s): ${[...config.clients.values()].map(clientSummary).join('; ') || 'none'}`,
      `  external     ${p.externalIssuers.map((i) => `${i.name} (${i.issuer}, audiences ${i.audiences.join(', ')})`).join('; ') || 'none'}`,
      `  forward-auth ${p.forwardAuth ? `${p.forwardAuth.path} (rewritten paths: ${p.forwardAuth.rewrittenPaths}; trusted proxies: ${p.listen.trustedProxies.join(', ') || 'none, so every call is refused'})` : 'off'}`,
      `  operators    ${config.operators.size} (${[...config.operators.values()].filter((o) => o.apiAccess).length} with API access)`,
      `  pcr          ${p.pcr ? `${config.apiKeys.length} key(s), ${config.apiUsers.size} API user(s), sections ${p.pcr.sections.join(', ')}` : 'off'}`,
      `  routes       ${p.routes.map((r) => `${r.id} ${r.path} ${r.public ? 'public' : `[${r.authenticators?.join(', ')}]`}`).join('; ')}`,
      `  admin        ${config.adminTokens.length > 0 ? `${p.admin.host}:${p.admin.port} (${config.adminTokens.map((t) => `${t.name}: ${t.role}`).join(', ')})` : 'off (no admin.token or admin.tokens)'}`,
    ];
    console.log(lines.join('\n'));
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    if (error instanceof KeyRingError) {
      console.error(`${file}: 1 problem:\n  tokens.signingKeys: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
