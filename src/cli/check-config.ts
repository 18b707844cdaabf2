// `portcullis check-config FILE`: validates a config completely (including secrets, keys and TLS files) and prints
// a summary, without starting anything. Warnings (a certificate near its end, say) are printed and exit 0.

import { parseArgs } from 'node:util';
import { ConfigError, type Config, type ResolvedClient } from '../config/load.js';
import { loadConfigFile } from '../config-loader.js';
import { formatDuration } from '../config/duration.js';
import { KeyRing, KeyRingError } from '../tokens/keyring.js';
import type { ParsedConfig } from '../config/schema.js';
import { checkTlsSections, type TlsFinding } from '../config/tls-check.js';

function clientSummary(c: ResolvedClient): string {
  const extras = [
    ...(c.allowsClientCredentials && c.serviceIdentity !== undefined ? [`acts as "${c.serviceIdentity.name}"`] : []),
    ...(c.mayIntrospect ? ['introspects'] : []),
  ];
  return `${c.id} [${c.grants.join(', ')}; access ${formatDuration(c.accessTokenTtl)}, refresh ${formatDuration(c.refreshTokenTtl)}${extras.map((e) => `; ${e}`).join('')}]`;
}

/** The findings in the style of a config's problems: `FILE: 2 problems:` and one indented line each. */
function findingsText(file: string, findings: readonly TlsFinding[], noun: 'problem' | 'warning'): string {
  return `${file}: ${findings.length} ${noun}${findings.length === 1 ? '' : 's'}:\n${findings.map((f) => `  ${f.path}: ${f.message}`).join('\n')}`;
}

function tlsSummary(p: ParsedConfig): string {
  const listener = (tls: ParsedConfig['listen']['tls']) =>
    tls === undefined ? 'off' : `${tls.minVersion}+${tls.clientAuth === 'none' ? '' : `, client certificates ${tls.clientAuth}`}`;
  const upstream = p.upstream.tls;
  const upstreamText =
    upstream === undefined
      ? p.upstream.url.startsWith('https:') ? 'public CAs' : 'off'
      : [upstream.caFile ? 'private CA' : 'public CAs', ...(upstream.certFile ? ['client certificate'] : []), ...(upstream.rejectUnauthorized ? [] : ['NOT VERIFIED'])].join(', ');
  return `listen ${listener(p.listen.tls)}; admin ${listener(p.admin.tls)}; upstream ${upstreamText}`;
}

function adminSummary(config: Config): string {
  const p = config.parsed;
  const credentials = [
    ...config.adminTokens.map((t) => `${t.name}: ${t.role}`),
    ...p.admin.certificateIdentities.map((i) => `${i.name}: ${i.role} by certificate`),
  ];
  return credentials.length > 0 ? `${p.admin.host}:${p.admin.port} (${credentials.join(', ')})` : 'off (no admin.token, admin.tokens or admin.certificateIdentities)';
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
    const findings = checkTlsSections(p);
    const errors = findings.filter((f) => f.severity === 'error');
    const warnings = findings.filter((f) => f.severity === 'warning');
    if (errors.length > 0) {
      console.error([findingsText(file, errors, 'problem'), ...(warnings.length > 0 ? [findingsText(file, warnings, 'warning')] : [])].join('\n'));
      return 1;
    }
    const lines = [
      `${file}: OK`,
      `  listen       ${p.listen.host}:${p.listen.port}`,
      `  upstream     ${p.upstream.url === 'demo' ? 'built-in demo backend' : p.upstream.url} (timeout ${formatDuration(p.upstream.timeout)})`,
      `  store        ${p.store.type}`,
      `  tls          ${tlsSummary(p)}`,
      `  signing      ${p.tokens.algorithm}, ${keys.development ? 'no key configured: a development key will be generated' : `active kid ${keys.active.kid}, ${config.signingKeys.length} key(s)`}`,
      `  oauth        scope "${p.oauth.scope}", ${config.clients.size} client(s): ${[...config.clients.values()].map(clientSummary).join('; ') || 'none'}`,
      `  external     ${p.externalIssuers.map((i) => `${i.name} (${i.issuer}, audiences ${i.audiences.join(', ')})`).join('; ') || 'none'}`,
      `  forward-auth ${p.forwardAuth ? `${p.forwardAuth.path} (rewritten paths: ${p.forwardAuth.rewrittenPaths}; trusted proxies: ${p.listen.trustedProxies.join(', ') || 'none, so every call is refused'})` : 'off'}`,
      `  operators    ${config.operators.size} (${[...config.operators.values()].filter((o) => o.apiAccess).length} with API access)`,
      `  pcr          ${p.pcr ? `${config.apiKeys.length} key(s), ${config.apiUsers.size} API user(s), sections ${p.pcr.sections.join(', ')}` : 'off'}`,
      `  routes       ${p.routes.map((r) => `${r.id} ${r.path} ${r.public ? 'public' : `[${r.authenticators?.join(', ')}]`}`).join('; ')}`,
      `  admin        ${adminSummary(config)}`,
    ];
    console.log(lines.join('\n'));
    if (warnings.length > 0) console.error(findingsText(file, warnings, 'warning'));
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
