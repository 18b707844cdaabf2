// How the Redis store reaches Redis: the connection settings it accepts, `redis://` URL parsing, and the ioredis
// clients (standalone, Sentinel or Cluster, with TLS) built from them.

import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis } from 'ioredis';
import { REDIS_SCRIPTS } from './scripts.js';

export interface RedisTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

/** The connection fields are all optional (a URL, host/port, Sentinel or Cluster); the limits are not. */
export interface RedisStoreOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://…`; the explicit fields below override its parts. */
  url?: string;
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  tls?: boolean | RedisTlsOptions;
  /** Prepended to every key and to the revocation channel. */
  keyPrefix: string;
  sentinel?: { name: string; nodes: { host: string; port: number }[]; password?: string };
  cluster?: { nodes: { host: string; port: number }[] };
  /** Upper bound for every single command. */
  commandTimeoutMs: number;
  /** Upper bound for establishing a connection. */
  connectTimeoutMs: number;
  /**
   * Revocations and credential changes wait until `replicas` replicas have them (at most `timeoutMs`, which must
   * be shorter than the command timeout); absent or 0 replicas: no waiting.
   */
  replicationWait?: { replicas: number; timeoutMs: number };
}

/** The port Redis listens on unless told otherwise, as `redis://host` without a port means. */
const REDIS_STANDARD_PORT = 6379;
/** Where a standalone Redis is looked for when only a port is given. */
const LOCAL_HOST = '127.0.0.1';

type UrlParts = Pick<RedisStoreOptions, 'host' | 'port' | 'db' | 'username' | 'password' | 'tls'>;

/**
 * Splits a `redis://` or `rediss://` URL into store options. Errors never repeat the URL, since a mistyped
 * URL can put the password where the host or path is expected.
 */
export function parseRedisUrl(url: string): UrlParts {
  const fail: (why: string) => never = (why) => {
    throw new Error(`Invalid Redis URL: ${why} (expected redis://[user:password@]host[:port][/db] or rediss://…)`);
  };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) fail('missing scheme');
  if (scheme !== 'redis' && scheme !== 'rediss') fail(`unsupported scheme "${scheme}:"`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('cannot be parsed');
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) fail('missing host');
  if (parsed.search || parsed.hash) fail('query strings and fragments are not supported');
  const out: UrlParts = { host, port: REDIS_STANDARD_PORT };
  if (parsed.port) {
    const port = Number(parsed.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail('port must be between 1 and 65535');
    out.port = port;
  }
  if (parsed.pathname && parsed.pathname !== '/') {
    const db = /^\/(\d{1,5})$/.exec(parsed.pathname);
    if (!db) fail('the path must be a database number');
    out.db = Number(db[1]);
  }
  try {
    if (parsed.username) out.username = decodeURIComponent(parsed.username);
    if (parsed.password) out.password = decodeURIComponent(parsed.password);
  } catch {
    fail('credentials are not correctly percent-encoded');
  }
  if (scheme === 'rediss') out.tls = true;
  return out;
}

/** The options with the URL merged in and checked, as the clients are built from them. */
export interface ResolvedRedisOptions {
  host: string;
  port: number;
  db: number | undefined;
  username: string | undefined;
  password: string | undefined;
  tls: ConnectionOptions | undefined;
  keyPrefix: string;
  sentinel: RedisStoreOptions['sentinel'];
  cluster: RedisStoreOptions['cluster'];
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  /** 0 replicas: writes are answered as soon as the master has them. */
  replicationWait: { replicas: number; timeoutMs: number };
}

export function resolveRedisOptions(options: RedisStoreOptions): ResolvedRedisOptions {
  const fromUrl: UrlParts = options.url ? parseRedisUrl(options.url) : {};
  const pick = <K extends keyof UrlParts>(k: K): UrlParts[K] => (options[k] !== undefined ? options[k] : fromUrl[k]);
  const positive = (name: string, value: number): number => {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`RedisStore: ${name} must be a positive number`);
    return value;
  };
  if (options.cluster && options.sentinel) throw new TypeError('RedisStore: configure either cluster or sentinel, not both');
  if (options.cluster && (pick('db') ?? 0) !== 0) throw new TypeError('RedisStore: Redis Cluster only has database 0');
  if (options.cluster?.nodes.length === 0 || options.sentinel?.nodes.length === 0) {
    throw new TypeError('RedisStore: cluster and sentinel need at least one node');
  }
  const replicationWait = options.replicationWait ?? { replicas: 0, timeoutMs: 0 };
  if (replicationWait.replicas > 0) {
    // WAIT counts the replicas of the node it is sent to; a cluster spreads the keys over several masters.
    if (options.cluster) throw new TypeError('RedisStore: replicationWait is not available with cluster');
    // WAIT with a timeout of 0 would block for good.
    if (!(replicationWait.timeoutMs > 0)) throw new RangeError('RedisStore: replicationWait.timeout must be positive');
    if (replicationWait.timeoutMs >= options.commandTimeoutMs) {
      throw new RangeError('RedisStore: replicationWait.timeout must be shorter than commandTimeout');
    }
  }
  const tls = pick('tls');
  return {
    host: pick('host') ?? LOCAL_HOST,
    port: pick('port') ?? REDIS_STANDARD_PORT,
    db: pick('db'),
    username: pick('username'),
    password: pick('password'),
    tls: tls === true ? {} : tls ? { ...tls } : undefined,
    keyPrefix: options.keyPrefix,
    sentinel: options.sentinel,
    cluster: options.cluster,
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs),
    replicationWait,
  };
}

export type RedisClient = Redis | Cluster;

// Capped so a long outage does not leave replicas minutes away from noticing that Redis is back.
const reconnectDelay = (times: number): number => Math.min(times * 100, 2000);

/** The connection for commands and scripts. */
export function createCommandClient(o: ResolvedRedisOptions): RedisClient {
  const connection = {
    username: o.username,
    password: o.password,
    tls: o.tls,
    connectTimeout: o.connectTimeoutMs,
    commandTimeout: o.commandTimeoutMs,
    connectionName: 'portcullis',
    // A command that was in flight when the connection dropped has already timed out for its caller and may
    // have run; resending it could, for example, redeem a refresh token a second time and revoke its family.
    autoResendUnfulfilledCommands: false,
  };
  if (o.cluster) {
    return new Cluster(o.cluster.nodes, {
      // Without an offline queue a request fails at once while Redis is down instead of piling up.
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      scripts: REDIS_SCRIPTS,
      redisOptions: connection,
    });
  }
  const common = {
    ...connection,
    db: o.db,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
    scripts: REDIS_SCRIPTS,
  };
  if (o.sentinel) {
    return new Redis({
      ...common,
      name: o.sentinel.name,
      sentinels: o.sentinel.nodes,
      sentinelPassword: o.sentinel.password,
      // With TLS configured, both the sentinels and the master they point at are spoken to over TLS.
      enableTLSForSentinelMode: o.tls !== undefined,
      sentinelTLS: o.tls,
      sentinelCommandTimeout: o.commandTimeoutMs,
    });
  }
  return new Redis({ ...common, host: o.host, port: o.port });
}

/**
 * The connection for revocation events. Subscribing switches a connection into pub/sub mode, so events get
 * their own. It queues its SUBSCRIBE until connected and waits for messages without a command timeout.
 */
export function createSubscriberClient(commands: RedisClient): RedisClient {
  return commands instanceof Cluster
    ? commands.duplicate([], { enableOfflineQueue: true, redisOptions: { commandTimeout: undefined } })
    : commands.duplicate({ enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null });
}

/**
 * The node connection a Cluster subscriber currently listens on. When that node goes away ioredis moves the
 * subscription to another node by itself, without any event on the Cluster; watching this connection is how
 * the move is noticed. Null for a standalone or Sentinel client, or should ioredis stop exposing it.
 */
export function clusterSubscription(subscriber: RedisClient): Redis | null {
  if (!(subscriber instanceof Cluster)) return null;
  const inner = (subscriber as unknown as { subscriber?: { getInstance?: () => Redis | null } }).subscriber;
  return typeof inner?.getInstance === 'function' ? inner.getInstance() : null;
}

/** For error messages: where the store tried to connect, without credentials. */
export function describeEndpoint(o: ResolvedRedisOptions): string {
  const nodes = (ns: { host: string; port: number }[]) => ns.map((n) => `${n.host}:${n.port}`).join(',');
  if (o.cluster) return `cluster ${nodes(o.cluster.nodes)}`;
  if (o.sentinel) return `sentinel master "${o.sentinel.name}" via ${nodes(o.sentinel.nodes)}`;
  return `${o.host}:${o.port}`;
}

/** Closes politely when connected, and always stops any reconnect loop. */
export async function quitClient(client: RedisClient): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit();
  } catch {
    // Falls through to disconnect(), which also stops any reconnect loop.
  } finally {
    client.disconnect();
  }
}
