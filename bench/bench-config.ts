// The proxy config every benchmark scenario runs against, and the credentials it knows. Only what a scenario is
// about differs between scenarios: the store, the cache size, the request log, the worker count.

import type { TokenAlgorithm } from '../src/cli/loadtest.js';
import { sha256KeyHash } from '../src/config/secrets.js';

export const CLIENT = { id: 'bench-client', secret: 'bench-client-secret' };
export const OPERATOR = { login: 'bench-operator', password: 'bench-operator-password' };
export const API_USER = { login: 'bench-api-user', password: 'bench-api-password' };
export const RO_KEY = 'bench-read-only-key-0123456789';
export const RW_KEY = 'bench-token-auth-key-0123456789';
export const KID = 'bench-key-1';
/** The environment variable the config names the signing key by, as operators configure it. */
export const SIGNING_KEY_ENV = 'BENCH_SIGNING_KEY';

export interface Hashes {
  client: string;
  operator: string;
  apiUser: string;
}

export interface ConfigOptions {
  upstreamUrl: string;
  engine: string | null;
  requestLog: boolean;
  alg: TokenAlgorithm;
  hashes: Hashes;
  redisUrl: string | null;
  /** Keeps scenarios sharing one Redis apart. */
  redisPrefix?: string;
  /** A database file for the sqlite store; null for the memory store (or Redis when redisUrl is set). */
  sqlitePath?: string | null;
  cacheSize: number | null;
  workers?: number;
  /** Where spans are exported; null or absent keeps tracing off (the default). */
  tracingEndpoint?: string | null;
}

export function benchConfig(o: ConfigOptions): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    log: { level: 'info', requests: o.requestLog },
    ...(o.tracingEndpoint ? { tracing: { enabled: true, endpoint: o.tracingEndpoint } } : {}),
    upstream: { url: o.upstreamUrl, ...(o.engine ? { engine: o.engine } : {}) },
    tokens: {
      algorithm: o.alg,
      signingKeys: [{ kid: KID, privateKey: { env: SIGNING_KEY_ENV }, active: true }],
      ...(o.cacheSize !== null ? { cacheSize: o.cacheSize } : {}),
    },
    oauth: {
      scope: 'public-api',
      clients: [{ id: CLIENT.id, secret: o.hashes.client, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password', 'refresh_token'] }],
    },
    operators: [
      { login: OPERATOR.login, password: o.hashes.operator, apiAccess: true, teams: ['service-desk', 'network'], organizations: ['acme'], features: ['tickets', 'dashboard'] },
    ],
    pcr: {
      pathPrefix: '/api',
      keys: [
        { id: 'bench-ro', key: sha256KeyHash(RO_KEY), read: ['servicedesk', 'services'] },
        {
          id: 'bench-rw',
          key: sha256KeyHash(RW_KEY),
          read: ['services', 'equipment', 'servicedesk', 'snmp'],
          write: ['services', 'equipment', 'servicedesk', 'snmp'],
          tokenAuth: true,
        },
      ],
      users: [{ login: API_USER.login, password: o.hashes.apiUser, keys: ['bench-rw'] }],
    },
    routes: [
      { id: 'api', path: '/api/**', authenticators: ['bearer', 'pcr-api-key'] },
      { id: 'public', path: '/public/**', public: true },
    ],
    store:
      o.redisUrl !== null
        ? { type: 'redis', url: o.redisUrl, keyPrefix: o.redisPrefix ?? `portcullis-bench:${process.pid}:` }
        : o.sqlitePath
          ? { type: 'sqlite', path: o.sqlitePath }
          : { type: 'memory' },
  };
}
