// Reads, interpolates, validates and resolves a config file into the `Config` the proxy runs on. Every problem
// (YAML syntax, unknown keys, wrong types, bad values, cross-references, unreadable secrets) is collected and
// reported together, each with its path, so an operator fixes a file in one pass.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import {
  configSchemaFor,
  LEGACY_ADMIN_TOKEN_NAME,
  type AdminRole,
  type ApiKeyConfig,
  type ApiUserConfig,
  type OAuthClientConfig,
  type OperatorConfig,
  type ParsedConfig,
  type SecretSourceInput,
} from './schema.js';
import { formatPath, interpolateEnv } from './interpolate.js';
import {
  PLAINTEXT_SECRET_MESSAGE,
  readKeyMaterial,
  resolveKeyHash,
  resolvePasswordHash,
  resolvePlainSecret,
  type ResolveContext,
} from './secrets.js';
import { isSecretHash } from '../secrets/hash.js';
import type { StoredSecret } from '../secrets/verifier.js';
import { applyOverrides, type ConfigOverrides } from './overrides.js';
import { plaintextSecretPaths } from './plaintext-secrets.js';
import { checkReferences, duplicates } from './references.js';
import { resolveStorePaths } from './schema/store.js';
import { resolveTlsSectionPaths } from './schema/tls.js';
import { loadUpstreamTls, type UpstreamTlsMaterial } from './upstream-tls.js';

export type { ConfigOverrides };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
  }
}


export interface SigningKeyMaterial {
  kid: string;
  /** PEM or JWK JSON text of the private key. */
  material: string;
  active: boolean;
}

export interface ResolvedClient extends Omit<OAuthClientConfig, 'secret'> {
  secret: StoredSecret;
  allowsPassword: boolean;
  allowsRefresh: boolean;
  /** The client may get tokens for itself (grant_type=client_credentials); it then has a `serviceIdentity`. */
  allowsClientCredentials: boolean;
  /** The client may call POST /oauth/introspect. */
  mayIntrospect: boolean;
}

export interface ResolvedOperator extends Omit<OperatorConfig, 'password'> {
  password: StoredSecret;
}

export interface ResolvedApiKey extends Omit<ApiKeyConfig, 'key' | 'upstreamKey'> {
  keyHash: string;
  /** null: the key segment is removed from the forwarded path. */
  upstreamKey: string | null;
  readSections: ReadonlySet<string>;
  writeSections: ReadonlySet<string>;
}

export interface ResolvedApiUser extends Omit<ApiUserConfig, 'password'> {
  password: StoredSecret;
}

/** An admin API bearer token: who it is (for the handlers and audit) and what it may do. */
export interface ResolvedAdminToken {
  name: string;
  role: AdminRole;
  secret: StoredSecret;
}

export interface Config {
  /** Path of the file this came from, or a label for an in-memory config. */
  source: string;
  parsed: ParsedConfig;
  signingKeys: SigningKeyMaterial[];
  clients: ReadonlyMap<string, ResolvedClient>;
  operators: ReadonlyMap<string, ResolvedOperator>;
  apiKeys: readonly ResolvedApiKey[];
  apiUsers: ReadonlyMap<string, ResolvedApiUser>;
  /** `admin.token` (as the `manage` token named "admin") first, then `admin.tokens` in file order. */
  adminTokens: readonly ResolvedAdminToken[];
  redisPassword: string | null;
  sentinelPassword: string | null;
  /** `upstream.tls` with its files' contents, read at load; null when the upstream hop has no TLS settings. */
  upstreamTls: UpstreamTlsMaterial | null;
}

/** How a config is read: where it came from, what overrides it, and the authenticator ids the faces offer. */
export interface LoadOptions {
  authenticatorIds: readonly string[];
  source?: string;
  baseDir?: string;
  overrides?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
}

export function loadConfigFile(file: string, options: Omit<LoadOptions, 'source' | 'baseDir'>): Promise<Config> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    return Promise.reject(new ConfigError(file, [`cannot read the config file (${code})`]));
  }
  return loadConfigText(text, { ...options, source: file, baseDir: dirname(resolve(file)) });
}

export async function loadConfigText(text: string, options: LoadOptions): Promise<Config> {
  const source = options.source ?? '(inline config)';
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  if (document.errors.length > 0) {
    throw new ConfigError(source, document.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  }
  const raw = document.toJS({ maxAliasCount: 100 }) as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['the file must be a YAML mapping of settings']);
  }
  return resolveConfig(raw, { ...options, source });
}

/** Validates a parsed config object (from YAML or built by a test) and resolves its secrets. */
export async function resolveConfig(raw: unknown, options: LoadOptions): Promise<Config> {
  const source = options.source ?? '(inline config)';
  const env = options.env ?? process.env;
  const interpolationProblems: { path: (string | number)[]; message: string }[] = [];
  const interpolated = applyOverrides(interpolateEnv(raw, env, interpolationProblems), options.overrides ?? {});

  const result = configSchemaFor(options.authenticatorIds).safeParse(interpolated);
  const problems = interpolationProblems.map((p) => `${formatPath(p.path)}: ${p.message}`);
  if (!result.success) {
    // A variable that was not set already explains the value at its path; the schema's complaint about the
    // resulting empty string would only repeat it.
    const explained = new Set(interpolationProblems.map((p) => formatPath(p.path)));
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problems.push(`${formatPath([...issue.path, key])}: unknown key`);
      } else if (!explained.has(formatPath(issue.path))) {
        problems.push(`${formatPath(issue.path)}: ${issue.message}`);
      }
    }
    // Secrets written in plain text are reported even when the rest of the file is broken: an operator should
    // learn of every problem in one pass, and this one matters most.
    for (const path of plaintextSecretPaths(interpolated)) {
      const where = formatPath(path);
      if (!problems.some((p) => p.startsWith(`${where}:`))) problems.push(`${where}: ${PLAINTEXT_SECRET_MESSAGE}`);
    }
    throw new ConfigError(source, problems);
  }
  const parsed = result.data;
  const context: ResolveContext = { baseDir: options.baseDir ?? process.cwd(), env, problems: interpolationProblems };
  parsed.store = resolveStorePaths(parsed.store, context.baseDir);
  resolveTlsSectionPaths(parsed, context.baseDir);
  checkReferences(parsed, interpolationProblems);
  const upstreamTls = loadUpstreamTls(parsed.upstream, env, interpolationProblems);
  const resolved: Config = { ...(await resolveSecrets(parsed, source, context)), upstreamTls };
  const allProblems = interpolationProblems.map((p) => `${formatPath(p.path)}: ${p.message}`);
  if (allProblems.length > 0) throw new ConfigError(source, allProblems);
  return resolved;
}

async function resolveSecrets(parsed: ParsedConfig, source: string, context: ResolveContext): Promise<Omit<Config, 'upstreamTls'>> {
  const clients = new Map<string, ResolvedClient>();
  const operators = new Map<string, ResolvedOperator>();
  const apiUsers = new Map<string, ResolvedApiUser>();
  const apiKeys: ResolvedApiKey[] = [];
  const pending: Promise<void>[] = [];

  parsed.oauth.clients.forEach((client, i) => {
    pending.push(
      resolvePasswordHash(client.secret, ['oauth', 'clients', i, 'secret'], context).then((secret) => {
        if (secret)
          clients.set(client.id, {
            ...client,
            secret,
            allowsPassword: client.grants.includes('password'),
            allowsRefresh: client.grants.includes('refresh_token'),
            allowsClientCredentials: client.grants.includes('client_credentials'),
            mayIntrospect: client.introspect,
          });
      }),
    );
  });
  parsed.operators.forEach((operator, i) => {
    pending.push(
      resolvePasswordHash(operator.password, ['operators', i, 'password'], context).then((password) => {
        if (password) operators.set(operator.login, { ...operator, password });
      }),
    );
  });
  parsed.pcr?.keys.forEach((key, i) => {
    const keyHash = resolveKeyHash(key.key, ['pcr', 'keys', i, 'key'], context);
    const upstreamKey = key.upstreamKey === 'remove' ? null : resolvePlainSecret(key.upstreamKey, ['pcr', 'keys', i, 'upstreamKey'], context);
    if (upstreamKey !== null && !/^[A-Za-z0-9._~-]+$/.test(upstreamKey)) {
      context.problems.push({ path: ['pcr', 'keys', i, 'upstreamKey'], message: 'the upstream key must be made of letters, digits, ".", "_", "~" or "-"' });
    }
    if (keyHash) {
      const { key: _omitKey, upstreamKey: _omitUpstream, ...rest } = key;
      apiKeys.push({ ...rest, keyHash, upstreamKey, readSections: new Set(key.read), writeSections: new Set(key.write) });
    }
  });
  for (const i of duplicates(apiKeys, (k) => k.keyHash)) context.problems.push({ path: ['pcr', 'keys', i, 'key'], message: 'two keys have the same value' });
  parsed.pcr?.users.forEach((user, i) => {
    pending.push(
      resolvePasswordHash(user.password, ['pcr', 'users', i, 'password'], context).then((password) => {
        if (password) apiUsers.set(user.login, { ...user, password });
      }),
    );
  });
  const signingKeys: SigningKeyMaterial[] = [];
  parsed.tokens.signingKeys.forEach((key, i) => {
    const material = readKeyMaterial(key.privateKey, ['tokens', 'signingKeys', i, 'privateKey'], context);
    if (material !== null) signingKeys.push({ kid: key.kid, material, active: key.active || parsed.tokens.signingKeys.length === 1 });
  });
  const adminTokensResolved = resolveAdminTokens(parsed.admin, context);
  let redisPassword: string | null = null;
  let sentinelPassword: string | null = null;
  if (parsed.store.type === 'redis') {
    if (parsed.store.password !== undefined) redisPassword = resolvePlainSecret(parsed.store.password, ['store', 'password'], context);
    if (parsed.store.sentinel?.password !== undefined) {
      sentinelPassword = resolvePlainSecret(parsed.store.sentinel.password, ['store', 'sentinel', 'password'], context);
    }
  }
  await Promise.all(pending);
  const adminTokens = await adminTokensResolved;
  return { source, parsed, signingKeys, clients, operators, apiKeys, apiUsers, adminTokens, redisPassword, sentinelPassword };
}

/**
 * Resolves `admin.token` (the `manage` token named "admin") and `admin.tokens[]`, in that order. Two entries
 * with the same secret are refused: a bearer matching both would have two names and maybe two roles. Literal
 * hashes, `{ env }` values and `{ file }` paths are compared before hashing, and the resolved hashes after it,
 * which also catches two files holding one hash; one plain secret in two different files stays unseen (each is
 * hashed with its own salt), and the middleware then takes the narrower role.
 */
async function resolveAdminTokens(admin: ParsedConfig['admin'], context: ResolveContext): Promise<ResolvedAdminToken[]> {
  const entries: { name: string; role: AdminRole; source: SecretSourceInput; path: (string | number)[] }[] = [];
  if (admin.token !== undefined) entries.push({ name: LEGACY_ADMIN_TOKEN_NAME, role: 'manage', source: admin.token, path: ['admin', 'token'] });
  admin.tokens.forEach((t, i) => entries.push({ name: t.name, role: t.role, source: t.token, path: ['admin', 'tokens', i, 'token'] }));
  const sourceKey = (source: SecretSourceInput): string => {
    if (typeof source === 'string') return `value:${source}`;
    if ('file' in source) return `file:${isAbsolute(source.file) ? source.file : resolve(context.baseDir, source.file)}`;
    const value = context.env[source.env];
    if (value === undefined || value === '') return `env:${source.env}`;
    // A plain secret is compared by its digest, so it is not kept around in a set for the comparison.
    return `value:${isSecretHash(value) ? value : createHash('sha256').update(value).digest('base64url')}`;
  };
  const sameValue = 'two admin tokens have the same value';
  const flagged = duplicates(entries, (e) => sourceKey(e.source));
  for (const i of flagged) context.problems.push({ path: entries[i]!.path, message: sameValue });
  const secrets = await Promise.all(entries.map((e) => resolvePasswordHash(e.source, e.path, context)));
  const present = entries.flatMap((entry, i) => {
    const secret = secrets[i];
    return secret ? [{ index: i, token: { name: entry.name, role: entry.role, secret } }] : [];
  });
  for (const j of duplicates(present, (p) => p.token.secret.text)) {
    const index = present[j]!.index;
    if (!flagged.has(index)) context.problems.push({ path: entries[index]!.path, message: sameValue });
  }
  return present.map((p) => p.token);
}
