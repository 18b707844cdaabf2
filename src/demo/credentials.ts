// The demo credentials documented in the README. The startup banner lists only those that verify against the
// running config's hashes, so it never advertises a credential the config does not actually accept.

import type { Config } from '../config/load.js';
import { verifySecret } from '../secrets/hash.js';
import { sha256KeyHash } from '../config/secrets.js';

export const DEMO_CREDENTIALS = {
  clients: [{ id: 'public-api', secret: 'demo-secret' }],
  operators: [{ login: 'my-operator', password: 'my-operator-password' }],
  apiKeys: [
    { id: 'demo-rw', key: 'demo-rw-key' },
    { id: 'demo-ro', key: 'demo-ro-key' },
  ],
  apiUsers: [{ login: 'api-user', password: 'api-password' }],
  adminToken: 'demo-admin-token',
} as const;

export async function demoCredentialLines(config: Config): Promise<string[]> {
  const lines: string[] = [];
  for (const c of DEMO_CREDENTIALS.clients) {
    const client = config.clients.get(c.id);
    if (client && (await verifySecret(c.secret, client.secret.parsed))) lines.push(`OAuth client      ${c.id} / ${c.secret}`);
  }
  for (const o of DEMO_CREDENTIALS.operators) {
    const operator = config.operators.get(o.login);
    if (operator && (await verifySecret(o.password, operator.password.parsed))) lines.push(`Operator          ${o.login} / ${o.password}`);
  }
  for (const k of DEMO_CREDENTIALS.apiKeys) {
    if (config.apiKeys.some((key) => key.keyHash === sha256KeyHash(k.key))) lines.push(`PCR-360 API key   ${k.key}`);
  }
  for (const u of DEMO_CREDENTIALS.apiUsers) {
    const user = config.apiUsers.get(u.login);
    if (user && (await verifySecret(u.password, user.password.parsed))) lines.push(`PCR-360 API user  ${u.login} / ${u.password}`);
  }
  const demoAdmin = await firstMatching(config.adminTokens, DEMO_CREDENTIALS.adminToken);
  if (demoAdmin !== undefined) {
    lines.push(`Admin token       ${DEMO_CREDENTIALS.adminToken} (${demoAdmin.role}, admin API on port ${config.parsed.admin.port})`);
  }
  return lines;
}

/** The first configured admin token the demo's token opens, if any. */
async function firstMatching(tokens: Config['adminTokens'], presented: string): Promise<Config['adminTokens'][number] | undefined> {
  for (const token of tokens) if (await verifySecret(presented, token.secret.parsed)) return token;
  return undefined;
}
