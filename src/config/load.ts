// Reads, interpolates, validates and resolves a config file into the `Config` the proxy runs on. Every problem
// (YAML syntax, unknown keys, wrong types, bad values, cross-references, unreadable secrets) is collected and
// reported together, each with its path, so an operator fixes a file in one pass.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { configSchema, type ApiKeyConfig, type ApiUserConfig, type OAuthClientConfig, type OperatorConfig, type ParsedConfig } from './schema.js';
import { formatPath, interpolateEnv } from './interpolate.js';
import {
  isSha256KeyHash,
  PLAINTEXT_SECRET_MESSAGE,
  readKeyMaterial,
  resolveKeyHash,
  resolvePasswordHash,
  resolvePlainSecret,
  type ResolveContext,
} from './secrets.js';
import { isSecretHash } from '../secrets/hash.js';
import type { StoredSecret } from '../secrets/verifier.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
  }
}

/** Command-line flags that override the file, for quick use without editing YAML. */
export interface ConfigOverrides {
  upstream?: string;
  port?: number;
  host?: string;
  adminPort?: number;
  store?: string;
  /**
   * Used when the file configures no signing key: the primary of a multi-worker process generates one
   * development key and hands it to every worker in an environment variable, so all of them verify each other's
   * tokens, also after a reload.
   */
  fallbackSigningKey?: { kid: string; env: string };
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

export interface Config {
  /** Path of the file this came from, or a label for an in-memory config. */
  source: string;
  parsed: ParsedConfig;
  signingKeys: SigningKeyMaterial[];
  clients: ReadonlyMap<string, ResolvedClient>;
  operators: ReadonlyMap<string, ResolvedOperator>;
  apiKeys: readonly ResolvedApiKey[];
  apiUsers: ReadonlyMap<string, ResolvedApiUser>;
  adminToken: StoredSecret | null;
  redisPassword: string | null;
  sentinelPassword: string | null;
}

export function loadConfigFile(file: string, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    return Promise.reject(new ConfigError(file, [`cannot read the config file (${code})`]));
  }
  return loadConfigText(text, { source: file, baseDir: dirname(resolve(file)), overrides, env });
}

export async function loadConfigText(
  text: string,
  options: { source?: string; baseDir?: string; overrides?: ConfigOverrides; env?: NodeJS.ProcessEnv } = {},
): Promise<Config> {
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
export async function resolveConfig(
  raw: unknown,
  options: { source?: string; baseDir?: string; overrides?: ConfigOverrides; env?: NodeJS.ProcessEnv } = {},
): Promise<Config> {
  const source = options.source ?? '(inline config)';
  const env = options.env ?? process.env;
  const interpolationProblems: { path: (string | number)[]; message: string }[] = [];
  const interpolated = applyOverrides(interpolateEnv(raw, env, interpolationProblems), options.overrides ?? {});

  const result = configSchema.safeParse(interpolated);
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
  checkReferences(parsed, interpolationProblems);
  const resolved = await resolveSecrets(parsed, source, context);
  const allProblems = interpolationProblems.map((p) => `${formatPath(p.path)}: ${p.message}`);
  if (allProblems.length > 0) throw new ConfigError(source, allProblems);
  return resolved;
}

/** Literal strings at the places that hold client-presented secrets which are not hashes. */
function plaintextSecretPaths(raw: unknown): (string | number)[][] {
  const found: (string | number)[][] = [];
  const object = (value: unknown): Record<string, unknown> | null =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  const check = (value: unknown, path: (string | number)[], isHash: (text: string) => boolean) => {
    if (typeof value === 'string' && !isHash(value)) found.push(path);
  };
  const config = object(raw);
  if (config === null) return found;
  const scrypt = (text: string) => isSecretHash(text);
  list(object(config['oauth'])?.['clients']).forEach((c, i) => check(object(c)?.['secret'], ['oauth', 'clients', i, 'secret'], scrypt));
  list(config['operators']).forEach((o, i) => check(object(o)?.['password'], ['operators', i, 'password'], scrypt));
  const pcr = object(config['pcr']);
  list(pcr?.['users']).forEach((u, i) => check(object(u)?.['password'], ['pcr', 'users', i, 'password'], scrypt));
  list(pcr?.['keys']).forEach((k, i) => check(object(k)?.['key'], ['pcr', 'keys', i, 'key'], isSha256KeyHash));
  check(object(config['admin'])?.['token'], ['admin', 'token'], scrypt);
  return found;
}

function applyOverrides(value: unknown, overrides: ConfigOverrides): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const config = { ...(value as Record<string, unknown>) };
  const section = (name: string): Record<string, unknown> => {
    const current = config[name];
    const copy = current !== null && typeof current === 'object' && !Array.isArray(current) ? { ...(current as object) } : {};
    config[name] = copy;
    return copy as Record<string, unknown>;
  };
  if (overrides.upstream !== undefined) section('upstream')['url'] = overrides.upstream;
  if (overrides.port !== undefined) section('listen')['port'] = overrides.port;
  if (overrides.host !== undefined) section('listen')['host'] = overrides.host;
  if (overrides.adminPort !== undefined) section('admin')['port'] = overrides.adminPort;
  if (overrides.store !== undefined) {
    config['store'] = overrides.store === 'memory' ? { type: 'memory' } : { type: 'redis', url: overrides.store };
  }
  const tokens = config['tokens'];
  const isMapping = tokens === undefined || (tokens !== null && typeof tokens === 'object' && !Array.isArray(tokens));
  if (overrides.fallbackSigningKey !== undefined && isMapping) {
    const keys = (tokens as Record<string, unknown> | undefined)?.['signingKeys'];
    if (keys === undefined || (Array.isArray(keys) && keys.length === 0)) {
      const { kid, env } = overrides.fallbackSigningKey;
      section('tokens')['signingKeys'] = [{ kid, privateKey: { env }, active: true }];
    }
  }
  return config;
}

function duplicates<T>(items: readonly T[], key: (item: T) => string): Set<number> {
  const seen = new Set<string>();
  const repeated = new Set<number>();
  items.forEach((item, index) => {
    const k = key(item);
    if (seen.has(k)) repeated.add(index);
    seen.add(k);
  });
  return repeated;
}

function checkReferences(config: ParsedConfig, problems: { path: (string | number)[]; message: string }[]): void {
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

async function resolveSecrets(parsed: ParsedConfig, source: string, context: ResolveContext): Promise<Config> {
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
  let adminToken: StoredSecret | null = null;
  if (parsed.admin.token !== undefined) {
    pending.push(
      resolvePasswordHash(parsed.admin.token, ['admin', 'token'], context).then((token) => {
        adminToken = token;
      }),
    );
  }
  let redisPassword: string | null = null;
  let sentinelPassword: string | null = null;
  if (parsed.store.type === 'redis') {
    if (parsed.store.password !== undefined) redisPassword = resolvePlainSecret(parsed.store.password, ['store', 'password'], context);
    if (parsed.store.sentinel?.password !== undefined) {
      sentinelPassword = resolvePlainSecret(parsed.store.sentinel.password, ['store', 'sentinel', 'password'], context);
    }
  }
  await Promise.all(pending);
  return { source, parsed, signingKeys, clients, operators, apiKeys, apiUsers, adminToken, redisPassword, sentinelPassword };
}
