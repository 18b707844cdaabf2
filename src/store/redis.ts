// Shared state store on Redis (standalone, Sentinel or Cluster) for several Portcullis processes or replicas.
// Every check-then-write runs as one Lua script so it stays atomic across processes.

import { randomUUID } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ChainableCommander } from 'ioredis';
import { systemClock, type Clock } from '../clock.js';
import {
  byCreation,
  deliverRevocation,
  familyKeepUntil,
  isSessionLive,
  matchesFamilyFilter,
  matchesSessionFilter,
  sessionDeadline,
} from './memory.js';
import {
  StoreUnavailableError,
  type FamilyFilter,
  type RedeemResult,
  type RevocationEvent,
  type SessionFilter,
  type SessionRecord,
  type Store,
  type TokenFamilyRecord,
} from './store.js';

export interface RedisTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

export interface RedisStoreOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://…`; the explicit fields below override its parts. */
  url?: string;
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  tls?: boolean | RedisTlsOptions;
  /** Prepended to every key and to the revocation channel; default 'portcullis:'. */
  keyPrefix?: string;
  sentinel?: { name: string; nodes: { host: string; port: number }[]; password?: string };
  cluster?: { nodes: { host: string; port: number }[] };
  /** Upper bound for every single command; default 500. */
  commandTimeoutMs?: number;
  /** Upper bound for establishing a connection; default 2000. */
  connectTimeoutMs?: number;
}

export const DEFAULT_KEY_PREFIX = 'portcullis:';
export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;

/**
 * Added to every relative TTL. Logical expiry is always decided against the caller's `now`; the Redis TTL only
 * garbage-collects, so it must not fire before a process whose clock runs slightly behind has stopped using a key.
 */
const TTL_GRACE_MS = 10_000;
const BATCH = 500;

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
  const out: UrlParts = { host, port: 6379 };
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

// Lua. Numbers arrive as decimal strings and are passed back untouched wherever possible, so no
// epoch-millisecond value is ever reformatted by Lua's 14-digit number printing.
//
// Indexes are sorted sets scored by the member's absolute end ('inf' when it has none): members that are
// certainly dead can be dropped by score, and the index key can expire together with its longest-lived member.
const REINDEX = `
local function reindex(key, member, score, now, grace)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  redis.call('ZADD', key, score, member)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] == 'inf' then
    redis.call('PERSIST', key)
  else
    local ttl = tonumber(top[2]) - tonumber(now) + grace
    if ttl < 1 then ttl = 1 end
    redis.call('PEXPIRE', key, string.format('%d', ttl))
  end
end
`;

const SCRIPTS = {
  // KEYS: session, idx all, idx key, idx user
  // ARGV: id, json, lastActivity, expiresAt|'', idleTimeoutMs, keyId, user, ttl|'', score, now, grace
  pcCreateSession: {
    numberOfKeys: 4,
    lua: `${REINDEX}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'la', ARGV[3], 'exp', ARGV[4], 'idle', ARGV[5], 'k', ARGV[6], 'u', ARGV[7])
if ARGV[8] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[8]) end
for i = 2, 4 do reindex(KEYS[i], ARGV[1], ARGV[9], ARGV[10], tonumber(ARGV[11])) end
return 1`,
  },
  // Fails when the key is gone, so a touch racing a delete can never bring the session back.
  // KEYS: session. ARGV: now, grace. Returns {json, lastActivity} or nil.
  pcTouchSession: {
    numberOfKeys: 1,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'd', 'la', 'exp', 'idle')
if not v[1] then return false end
local now = tonumber(ARGV[1])
local la = tonumber(v[2])
local idle = tonumber(v[4])
local deadline = nil
if v[3] ~= '' then deadline = tonumber(v[3]) end
if deadline ~= nil and now >= deadline then return false end
if idle > 0 and now >= la + idle then return false end
local newla = v[2]
if now > la then
  newla = ARGV[1]
  la = now
  redis.call('HSET', KEYS[1], 'la', newla)
end
if idle > 0 and (deadline == nil or la + idle < deadline) then deadline = la + idle end
if deadline == nil then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], string.format('%d', deadline - now + tonumber(ARGV[2])))
end
return {v[1], newla}`,
  },
  // KEYS: session. ARGV: filterByKey '1'|'0', keyId, filterByUser '1'|'0', user.
  // Returns nil when missing, 0 when it does not match, {keyId, user} when deleted.
  pcDeleteSession: {
    numberOfKeys: 1,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'k', 'u')
if not v[1] then return false end
if (ARGV[1] == '1' and v[1] ~= ARGV[2]) or (ARGV[3] == '1' and v[2] ~= ARGV[4]) then return 0 end
redis.call('DEL', KEYS[1])
return v`,
  },
  // KEYS: family, refresh token, idx all, idx client, idx subject
  // ARGV: id, json, lastUsedAt, refreshExpiresAt|'', accessExpiresAt, revokedAt|'', familyTtl, keepUntil,
  //       hasToken '1'|'0', tokenTtl, clientId, subject, now, grace
  pcCreateFamily: {
    numberOfKeys: 5,
    lua: `${REINDEX}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'lu', ARGV[3], 'rexp', ARGV[4], 'aexp', ARGV[5], 'rev', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
if ARGV[9] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'f', ARGV[1], 'c', '0', 'e', ARGV[4], 'ci', ARGV[11], 'su', ARGV[12])
  redis.call('PEXPIRE', KEYS[2], ARGV[10])
end
for i = 3, 5 do reindex(KEYS[i], ARGV[1], ARGV[8], ARGV[13], tonumber(ARGV[14])) end
return 1`,
  },
  // The refresh-token entry names its family, but a script may only touch keys it declares, so the caller
  // looks the family up first; the entry's family never changes, so that read cannot go stale.
  // KEYS: token, family, next token, idx all, idx client, idx subject
  // ARGV: now, next refreshExpiresAt, next accessExpiresAt, grace, familyId, clientId, subject, next keepUntil
  // Returns {status[, json, lastUsedAt, refreshExpiresAt, accessExpiresAt, revokedAt, newlyRevoked]}.
  pcRedeem: {
    numberOfKeys: 6,
    lua: `${REINDEX}
local t = redis.call('HMGET', KEYS[1], 'f', 'c', 'e')
if not t[1] or t[1] ~= ARGV[5] then return {'unknown'} end
local now = tonumber(ARGV[1])
if now >= tonumber(t[3]) then return {'expired'} end
local f = redis.call('HMGET', KEYS[2], 'd', 'lu', 'rexp', 'aexp', 'rev')
if not f[1] then return {'unknown'} end
local keep = tonumber(f[4])
if f[3] ~= '' and tonumber(f[3]) > keep then keep = tonumber(f[3]) end
if now >= keep then return {'expired'} end
if t[2] == '1' then
  local newly = '0'
  if f[5] == '' then
    f[5] = ARGV[1]
    newly = '1'
    redis.call('HSET', KEYS[2], 'rev', ARGV[1])
  end
  return {'reused', f[1], f[2], f[3], f[4], f[5], newly}
end
if f[5] ~= '' then return {'revoked'} end
local grace = tonumber(ARGV[4])
local function px(at)
  local ttl = tonumber(at) - now + grace
  if ttl < 1 then ttl = 1 end
  return string.format('%d', ttl)
end
redis.call('HSET', KEYS[1], 'c', '1', 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], px(ARGV[2]))
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'f', ARGV[5], 'c', '0', 'e', ARGV[2], 'ci', ARGV[6], 'su', ARGV[7])
redis.call('PEXPIRE', KEYS[3], px(ARGV[2]))
redis.call('HSET', KEYS[2], 'lu', ARGV[1], 'rexp', ARGV[2], 'aexp', ARGV[3])
redis.call('PEXPIRE', KEYS[2], px(ARGV[8]))
for i = 4, 6 do reindex(KEYS[i], ARGV[5], ARGV[8], ARGV[1], grace) end
return {'rotated', f[1], ARGV[1], ARGV[2], ARGV[3], ''}`,
  },
  // KEYS: family. ARGV: now. Returns 1 when the family exists (and is now revoked), else 0.
  pcRevokeFamily: {
    numberOfKeys: 1,
    lua: `
local f = redis.call('HMGET', KEYS[1], 'rexp', 'aexp', 'rev')
if not f[2] then return 0 end
local now = tonumber(ARGV[1])
local keep = tonumber(f[2])
if f[1] ~= '' and tonumber(f[1]) > keep then keep = tonumber(f[1]) end
if now >= keep then return 0 end
if f[3] == '' then redis.call('HSET', KEYS[1], 'rev', ARGV[1]) end
return 1`,
  },
  // Keeps the later of two revocations of the same jti. KEYS: jti. ARGV: until, ttl.
  pcRevokeToken: {
    numberOfKeys: 1,
    lua: `
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`,
  },
  // KEYS: counter. ARGV: now, resetAt for a new window, ttl for a new window. Returns {count, resetAt}.
  pcRecordFailure: {
    numberOfKeys: 1,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'c', 'r')
if v[1] and tonumber(ARGV[1]) < tonumber(v[2]) then
  return {tostring(redis.call('HINCRBY', KEYS[1], 'c', 1)), v[2]}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'c', '1', 'r', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'1', ARGV[2]}`,
  },
} as const satisfies Record<string, { numberOfKeys: number; lua: string }>;

type ScriptName = keyof typeof SCRIPTS;
type Arg = string | number;
type Client = Redis | Cluster;

interface ResolvedOptions {
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
}

function resolveOptions(options: RedisStoreOptions): ResolvedOptions {
  const fromUrl: UrlParts = options.url ? parseRedisUrl(options.url) : {};
  const pick = <K extends keyof UrlParts>(k: K): UrlParts[K] => (options[k] !== undefined ? options[k] : fromUrl[k]);
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    const value = v ?? dflt;
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`RedisStore: ${name} must be a positive number`);
    return value;
  };
  if (options.cluster && options.sentinel) throw new TypeError('RedisStore: configure either cluster or sentinel, not both');
  if (options.cluster && (pick('db') ?? 0) !== 0) throw new TypeError('RedisStore: Redis Cluster only has database 0');
  if (options.cluster?.nodes.length === 0 || options.sentinel?.nodes.length === 0) {
    throw new TypeError('RedisStore: cluster and sentinel need at least one node');
  }
  const tls = pick('tls');
  return {
    host: pick('host') ?? '127.0.0.1',
    port: pick('port') ?? 6379,
    db: pick('db'),
    username: pick('username'),
    password: pick('password'),
    tls: tls === true ? {} : tls ? { ...tls } : undefined,
    keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
    sentinel: options.sentinel,
    cluster: options.cluster,
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
  };
}

// Capped so a long outage does not leave replicas minutes away from noticing that Redis is back.
const reconnectDelay = (times: number): number => Math.min(times * 100, 2000);

function buildClient(o: ResolvedOptions): Client {
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
      scripts: SCRIPTS,
      redisOptions: connection,
    });
  }
  const common = {
    ...connection,
    db: o.db,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
    scripts: SCRIPTS,
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

function describeEndpoint(o: ResolvedOptions): string {
  const nodes = (ns: { host: string; port: number }[]) => ns.map((n) => `${n.host}:${n.port}`).join(',');
  if (o.cluster) return `cluster ${nodes(o.cluster.nodes)}`;
  if (o.sentinel) return `sentinel master "${o.sentinel.name}" via ${nodes(o.sentinel.nodes)}`;
  return `${o.host}:${o.port}`;
}

const str = (n: number): string => String(n);
const relTtl = (at: number, now: number): number => Math.max(1, Math.ceil(at - now)) + TTL_GRACE_MS;
const orEmpty = (n: number | null): string => (n === null ? '' : String(n));
const orNull = (s: string): number | null => (s === '' ? null : Number(s));

type Listener = (event: RevocationEvent) => void;

function isRevocationEvent(e: unknown): e is RevocationEvent {
  if (typeof e !== 'object' || e === null) return false;
  const v = e as Record<string, unknown>;
  if (v.kind === 'session' || v.kind === 'family') return typeof v.id === 'string';
  return v.kind === 'token' && typeof v.jti === 'string' && typeof v.until === 'number';
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const;

  readonly #options: ResolvedOptions;
  readonly #clock: Clock;
  readonly #client: Client;
  readonly #subscriber: Client;
  readonly #subscribed: Promise<void>;
  readonly #channel: string;
  /** Tags this instance's own events so they are not delivered twice (once directly, once via pub/sub). */
  readonly #origin = randomUUID();
  readonly #listeners = new Set<Listener>();
  readonly #resyncListeners = new Set<() => void>();
  readonly #secrets: string[];
  #lastError: string | undefined;
  #closed = false;

  constructor(options: RedisStoreOptions, clock: Clock = systemClock) {
    this.#options = resolveOptions(options);
    this.#clock = clock;
    this.#secrets = [this.#options.password, options.sentinel?.password].filter((s): s is string => !!s);
    this.#channel = `${this.#options.keyPrefix}revocations`;
    this.#client = buildClient(this.#options);
    // Subscribing switches a connection into pub/sub mode, so events get their own connection. It queues its
    // SUBSCRIBE until connected and resubscribes after every reconnect. Events published while it is
    // disconnected are lost (pub/sub keeps no history), so whatever caches credentials must also expire them.
    this.#subscriber =
      this.#client instanceof Cluster
        ? this.#client.duplicate([], { enableOfflineQueue: true, redisOptions: { commandTimeout: undefined } })
        : this.#client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null });
    const remember = (err: Error) => {
      this.#lastError = this.#redact(err.message);
    };
    this.#client.on('error', remember);
    this.#subscriber.on('error', remember);
    this.#subscriber.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    this.#subscribed = this.#subscriber.subscribe(this.#channel).then(() => undefined);
    // Observed by waitUntilReady; this only keeps an early close() from surfacing as an unhandled rejection.
    this.#subscribed.catch(() => {});
    // Every reconnect after the first connect may have lost events. The resync is announced only once our own
    // SUBSCRIBE is answered: replies come in order, so the channel is live again by then, and a store read
    // made after the announcement cannot miss a revocation that pub/sub would not deliver.
    let connectedBefore = false;
    this.#subscriber.on('ready', () => {
      if (!connectedBefore) {
        connectedBefore = true;
        return;
      }
      const announce = () => {
        if (this.#closed) return;
        for (const listener of [...this.#resyncListeners]) {
          try {
            listener();
          } catch (err) {
            process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'RevocationListenerWarning');
          }
        }
      };
      this.#subscriber.subscribe(this.#channel).then(announce, announce);
    });
  }

  /** Resolves once both connections are up and the revocation channel is subscribed. */
  async waitUntilReady(timeoutMs: number = this.#options.connectTimeoutMs + this.#options.commandTimeoutMs): Promise<void> {
    const client = this.#client;
    let onReady: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const ready =
      client.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onReady = resolve;
            client.once('ready', resolve);
          });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = this.#lastError ? `: ${this.#lastError}` : '';
        reject(
          new StoreUnavailableError(
            `Redis store not reachable at ${describeEndpoint(this.#options)} within ${timeoutMs} ms${why}`,
          ),
        );
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all([ready, this.#subscribed]), timeout]);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      const message = this.#redact(err instanceof Error ? err.message : String(err));
      throw new StoreUnavailableError(`Redis store at ${describeEndpoint(this.#options)} failed to connect: ${message}`);
    } finally {
      clearTimeout(timer);
      if (onReady) client.off('ready', onReady);
    }
  }

  // Keys. Everything a script touches together shares a hash tag ({s} for sessions and their indexes, {f} for
  // families, their refresh tokens and indexes) so that in a cluster each script addresses a single slot. That
  // puts all sessions on one shard and all families on one (possibly another); at the size of this state that
  // is a fair price for atomic index updates. Revoked jtis and failure counters are single-key and spread freely.
  // The same layout is used without a cluster, so a deployment can move between the two without migrating.
  #k(group: 's' | 'f' | null, rest: string): string {
    return group ? `${this.#options.keyPrefix}{${group}}:${rest}` : `${this.#options.keyPrefix}${rest}`;
  }
  #sessionKey = (id: string) => this.#k('s', `sess:${id}`);
  #sessionIdx = (by: 'all' | 'key' | 'user', value = '') => this.#k('s', by === 'all' ? 'idx:all' : `idx:${by}:${value}`);
  #familyKey = (id: string) => this.#k('f', `fam:${id}`);
  #refreshKey = (hash: string) => this.#k('f', `rt:${hash}`);
  #familyIdx = (by: 'all' | 'client' | 'sub', value = '') => this.#k('f', by === 'all' ? 'idx:all' : `idx:${by}:${value}`);
  #jtiKey = (jti: string) => this.#k(null, `jti:${jti}`);
  #failureKey = (key: string) => this.#k(null, `fail:${key}`);

  // Sessions

  async createSession(session: SessionRecord): Promise<void> {
    const now = this.#clock.now();
    const deadline = sessionDeadline(session);
    await this.#run('createSession', () =>
      this.#script(
        'pcCreateSession',
        [this.#sessionKey(session.id), this.#sessionIdx('all'), this.#sessionIdx('key', session.keyId), this.#sessionIdx('user', session.user)],
        [
          session.id,
          JSON.stringify(session),
          str(session.lastActivity),
          orEmpty(session.expiresAt),
          str(session.idleTimeoutMs),
          session.keyId,
          session.user,
          Number.isFinite(deadline) ? str(relTtl(deadline, now)) : '',
          session.expiresAt === null ? 'inf' : str(session.expiresAt),
          str(now),
          str(TTL_GRACE_MS),
        ],
      ),
    );
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    const [json, la] = await this.#run('getSession', () => this.#client.hmget(this.#sessionKey(id), 'd', 'la'));
    if (!json || !la) return null;
    const session = this.#parseSession(json, la);
    return isSessionLive(session, now) ? session : null;
  }

  async touchSession(id: string, now: number): Promise<SessionRecord | null> {
    const res = (await this.#run('touchSession', () =>
      this.#script('pcTouchSession', [this.#sessionKey(id)], [str(now), str(TTL_GRACE_MS)]),
    )) as [string, string] | null;
    return res ? this.#parseSession(res[0], res[1]) : null;
  }

  async deleteSession(id: string): Promise<boolean> {
    const res = (await this.#run('deleteSession', () =>
      this.#script('pcDeleteSession', [this.#sessionKey(id)], ['0', '', '0', '']),
    )) as [string, string] | null;
    if (!res) return false;
    await this.#dropSessionsFromIndexes([{ id, keyId: res[0], user: res[1] }]);
    await this.#publish([{ kind: 'session', id }]);
    return true;
  }

  async listSessions(filter: SessionFilter, now: number): Promise<SessionRecord[]> {
    const idx = this.#sessionIndexFor(filter);
    return this.#run('listSessions', async () => {
      // Members whose absolute end has passed are dead whatever their record says.
      const ids = await this.#client.zrangebyscore(idx, `(${now}`, '+inf');
      const out: SessionRecord[] = [];
      const stale: string[] = [];
      for (let i = 0; i < ids.length; i += BATCH) {
        const chunk = ids.slice(i, i + BATCH);
        const pipeline = this.#client.pipeline();
        for (const id of chunk) pipeline.hmget(this.#sessionKey(id), 'd', 'la');
        const rows = await this.#exec(pipeline);
        rows.forEach((row, j) => {
          const [json, la] = row as [string | null, string | null];
          if (!json || !la) return void stale.push(chunk[j]!);
          const session = this.#parseSession(json, la);
          if (matchesSessionFilter(session, filter) && isSessionLive(session, now)) out.push(session);
        });
      }
      if (stale.length > 0) await this.#client.zrem(idx, ...stale);
      return out.sort(byCreation);
    });
  }

  async deleteSessions(filter: SessionFilter): Promise<string[]> {
    const idx = this.#sessionIndexFor(filter);
    const args = [
      filter.keyId === undefined ? '0' : '1',
      filter.keyId ?? '',
      filter.user === undefined ? '0' : '1',
      filter.user ?? '',
    ];
    const deleted = await this.#run('deleteSessions', async () => {
      const ids = await this.#client.zrange(idx, '0', '-1');
      const gone: { id: string; keyId: string; user: string }[] = [];
      const stale: string[] = [];
      for (let i = 0; i < ids.length; i += BATCH) {
        const chunk = ids.slice(i, i + BATCH);
        const pipeline = this.#client.pipeline();
        for (const id of chunk) this.#pipelineScript(pipeline, 'pcDeleteSession', [this.#sessionKey(id)], args);
        const rows = await this.#exec(pipeline);
        rows.forEach((row, j) => {
          const id = chunk[j]!;
          if (row === null) stale.push(id);
          else if (Array.isArray(row)) gone.push({ id, keyId: String(row[0]), user: String(row[1]) });
        });
      }
      if (stale.length > 0) await this.#client.zrem(idx, ...stale);
      return gone;
    });
    await this.#dropSessionsFromIndexes(deleted);
    await this.#publish(deleted.map(({ id }) => ({ kind: 'session', id }) as const));
    return deleted.map(({ id }) => id);
  }

  // Refresh-token families

  async createFamily(family: TokenFamilyRecord, refreshTokenHash: string | null): Promise<void> {
    if (refreshTokenHash !== null && family.refreshExpiresAt === null) {
      throw new TypeError('createFamily: a refresh token needs family.refreshExpiresAt');
    }
    const now = this.#clock.now();
    const keep = familyKeepUntil(family);
    const { id, clientId, subject, scope, createdAt } = family;
    await this.#run('createFamily', () =>
      this.#script(
        'pcCreateFamily',
        [
          this.#familyKey(id),
          this.#refreshKey(refreshTokenHash ?? ''),
          this.#familyIdx('all'),
          this.#familyIdx('client', clientId),
          this.#familyIdx('sub', subject),
        ],
        [
          id,
          JSON.stringify({ id, clientId, subject, scope, createdAt }),
          str(family.lastUsedAt),
          orEmpty(family.refreshExpiresAt),
          str(family.accessExpiresAt),
          orEmpty(family.revokedAt),
          str(relTtl(keep, now)),
          str(keep),
          refreshTokenHash === null ? '0' : '1',
          str(relTtl(family.refreshExpiresAt ?? now, now)),
          clientId,
          subject,
          str(now),
          str(TTL_GRACE_MS),
        ],
      ),
    );
  }

  async getFamily(id: string, now: number): Promise<TokenFamilyRecord | null> {
    const row = await this.#run('getFamily', () => this.#client.hmget(this.#familyKey(id), 'd', 'lu', 'rexp', 'aexp', 'rev'));
    const family = this.#parseFamily(row);
    return family && now < familyKeepUntil(family) ? family : null;
  }

  async redeemRefreshToken(
    refreshTokenHash: string,
    nextHash: string,
    next: { refreshExpiresAt: number; accessExpiresAt: number },
    now: number,
  ): Promise<RedeemResult> {
    const res = await this.#run('redeemRefreshToken', async () => {
      const [familyId, clientId, subject] = await this.#client.hmget(this.#refreshKey(refreshTokenHash), 'f', 'ci', 'su');
      if (!familyId || clientId === null || subject === null) return null;
      const keep = Math.max(next.refreshExpiresAt, next.accessExpiresAt);
      const out = (await this.#script(
        'pcRedeem',
        [
          this.#refreshKey(refreshTokenHash),
          this.#familyKey(familyId),
          this.#refreshKey(nextHash),
          this.#familyIdx('all'),
          this.#familyIdx('client', clientId),
          this.#familyIdx('sub', subject),
        ],
        [str(now), str(next.refreshExpiresAt), str(next.accessExpiresAt), str(TTL_GRACE_MS), familyId, clientId, subject, str(keep)],
      )) as string[];
      return out;
    });
    if (!res) return { status: 'unknown' };
    const status = res[0];
    if (status === 'rotated' || status === 'reused') {
      const family = this.#parseFamily(res.slice(1, 6));
      if (!family) throw this.#unavailable('redeemRefreshToken', new Error('malformed script reply'));
      if (status === 'reused' && res[6] === '1') await this.#publish([{ kind: 'family', id: family.id }]);
      return { status, family };
    }
    if (status === 'expired' || status === 'revoked' || status === 'unknown') return { status };
    throw this.#unavailable('redeemRefreshToken', new Error('unexpected script reply'));
  }

  async revokeFamily(id: string, now: number): Promise<boolean> {
    const existed = await this.#run('revokeFamily', () => this.#script('pcRevokeFamily', [this.#familyKey(id)], [str(now)]));
    if (Number(existed) !== 1) return false;
    await this.#publish([{ kind: 'family', id }]);
    return true;
  }

  async listFamilies(filter: FamilyFilter, now: number): Promise<TokenFamilyRecord[]> {
    const idx =
      filter.subject !== undefined
        ? this.#familyIdx('sub', filter.subject)
        : filter.clientId !== undefined
          ? this.#familyIdx('client', filter.clientId)
          : this.#familyIdx('all');
    return this.#run('listFamilies', async () => {
      const ids = await this.#client.zrangebyscore(idx, `(${now}`, '+inf');
      const out: TokenFamilyRecord[] = [];
      const stale: string[] = [];
      for (let i = 0; i < ids.length; i += BATCH) {
        const chunk = ids.slice(i, i + BATCH);
        const pipeline = this.#client.pipeline();
        for (const id of chunk) pipeline.hmget(this.#familyKey(id), 'd', 'lu', 'rexp', 'aexp', 'rev');
        const rows = await this.#exec(pipeline);
        rows.forEach((row, j) => {
          const family = this.#parseFamily(row as (string | null)[]);
          if (!family) return void stale.push(chunk[j]!);
          if (matchesFamilyFilter(family, filter) && now < familyKeepUntil(family)) out.push(family);
        });
      }
      if (stale.length > 0) await this.#client.zrem(idx, ...stale);
      return out.sort(byCreation);
    });
  }

  // Single-token revocations

  async revokeToken(jti: string, until: number): Promise<void> {
    const now = this.#clock.now();
    await this.#run('revokeToken', () => this.#script('pcRevokeToken', [this.#jtiKey(jti)], [str(until), str(relTtl(until, now))]));
    await this.#publish([{ kind: 'token', jti, until }]);
  }

  async isTokenRevoked(jti: string, now: number): Promise<boolean> {
    const until = await this.#run('isTokenRevoked', () => this.#client.get(this.#jtiKey(jti)));
    return until !== null && now < Number(until);
  }

  // Login-failure counters

  async recordFailure(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const resetAt = now + windowMs;
    const [count, reset] = (await this.#run('recordFailure', () =>
      this.#script('pcRecordFailure', [this.#failureKey(key)], [str(now), str(resetAt), str(relTtl(resetAt, now))]),
    )) as [string, string];
    return { count: Number(count), resetAt: Number(reset) };
  }

  async failureCount(key: string, now: number): Promise<{ count: number; resetAt: number }> {
    const [count, resetAt] = await this.#run('failureCount', () => this.#client.hmget(this.#failureKey(key), 'c', 'r'));
    if (count === null || resetAt === null || now >= Number(resetAt)) return { count: 0, resetAt: now };
    return { count: Number(count), resetAt: Number(resetAt) };
  }

  async clearFailures(key: string): Promise<void> {
    await this.#run('clearFailures', () => this.#client.del(this.#failureKey(key)));
  }

  // Events and lifecycle

  onRevocation(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Called after the revocation channel was resubscribed following a lost connection. */
  onResync(listener: () => void): () => void {
    this.#resyncListeners.add(listener);
    return () => {
      this.#resyncListeners.delete(listener);
    };
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('Redis store is closed');
    if (this.#client.status !== 'ready') {
      const why = this.#lastError ? `: ${this.#lastError}` : '';
      throw new StoreUnavailableError(`Redis store unavailable: not connected (${this.#client.status})${why}`);
    }
    await this.#run('ping', () => this.#client.ping());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#resyncListeners.clear();
    await Promise.allSettled([this.#client, this.#subscriber].map((c) => quit(c)));
  }

  // Internals

  #sessionIndexFor(filter: SessionFilter): string {
    // The user index is usually the smallest; the other criterion is checked against each record.
    if (filter.user !== undefined) return this.#sessionIdx('user', filter.user);
    if (filter.keyId !== undefined) return this.#sessionIdx('key', filter.keyId);
    return this.#sessionIdx('all');
  }

  /** Best effort: a member left behind is removed by the next listing that finds its record gone. */
  async #dropSessionsFromIndexes(sessions: { id: string; keyId: string; user: string }[]): Promise<void> {
    if (sessions.length === 0 || this.#closed) return;
    try {
      const pipeline = this.#client.pipeline();
      for (let i = 0; i < sessions.length; i += BATCH) {
        const chunk = sessions.slice(i, i + BATCH);
        pipeline.zrem(this.#sessionIdx('all'), ...chunk.map((s) => s.id));
        for (const s of chunk) {
          pipeline.zrem(this.#sessionIdx('key', s.keyId), s.id);
          pipeline.zrem(this.#sessionIdx('user', s.user), s.id);
        }
      }
      await pipeline.exec();
    } catch {
      // Ignored on purpose, see above.
    }
  }

  /**
   * Delivers to this process's listeners directly and to every other process via pub/sub. Failing to publish
   * is reported, because other processes may then keep honouring the credential from their caches.
   */
  async #publish(events: RevocationEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const event of events) deliverRevocation(this.#listeners, event);
    await this.#run('publish', async () => {
      const pipeline = this.#client.pipeline();
      for (const e of events) pipeline.publish(this.#channel, JSON.stringify({ o: this.#origin, e }));
      await this.#exec(pipeline);
    });
  }

  #onMessage(channel: string, message: string): void {
    if (channel !== this.#channel) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    const { o, e } = (parsed ?? {}) as { o?: unknown; e?: unknown };
    if (o === this.#origin || !isRevocationEvent(e)) return;
    deliverRevocation(this.#listeners, e);
  }

  #script(name: ScriptName, keys: string[], args: Arg[]): Promise<unknown> {
    const fn = (this.#client as unknown as Record<ScriptName, (...a: Arg[]) => Promise<unknown>>)[name];
    return fn.call(this.#client, ...keys, ...args);
  }

  #pipelineScript(pipeline: ChainableCommander, name: ScriptName, keys: string[], args: Arg[]): void {
    const fn = (pipeline as unknown as Record<ScriptName, (...a: Arg[]) => unknown>)[name];
    fn.call(pipeline, ...keys, ...args);
  }

  /** Runs a pipeline and fails as a whole if any command failed. */
  async #exec(pipeline: ChainableCommander): Promise<unknown[]> {
    const results = await pipeline.exec();
    if (!results) throw new Error('pipeline aborted');
    return results.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  async #run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError(`Redis store is closed (${op})`);
    try {
      return await fn();
    } catch (err) {
      throw this.#unavailable(op, err);
    }
  }

  /**
   * The original error is deliberately not attached as `cause`: ioredis errors can carry the arguments of the
   * failed command, which for AUTH include the password.
   */
  #unavailable(op: string, err: unknown): StoreUnavailableError {
    const message = err instanceof Error ? err.message : String(err);
    return new StoreUnavailableError(`Redis store unavailable (${op}): ${this.#redact(message)}`);
  }

  #redact(message: string): string {
    let out = message.replace(/(rediss?:\/\/)[^\s@/]*@/gi, '$1***@');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }

  #parseSession(json: string, lastActivity: string): SessionRecord {
    const session = JSON.parse(json) as SessionRecord;
    session.lastActivity = Number(lastActivity);
    return session;
  }

  #parseFamily(row: (string | null | undefined)[]): TokenFamilyRecord | null {
    const [json, lastUsedAt, refreshExpiresAt, accessExpiresAt, revokedAt] = row;
    if (!json || lastUsedAt == null || refreshExpiresAt == null || accessExpiresAt == null || revokedAt == null) {
      return null;
    }
    const base = JSON.parse(json) as Pick<TokenFamilyRecord, 'id' | 'clientId' | 'subject' | 'scope' | 'createdAt'>;
    return {
      ...base,
      lastUsedAt: Number(lastUsedAt),
      refreshExpiresAt: orNull(refreshExpiresAt),
      accessExpiresAt: Number(accessExpiresAt),
      revokedAt: orNull(revokedAt),
    };
  }
}

async function quit(client: Client): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit();
  } catch {
    // Falls through to disconnect(), which also stops any reconnect loop.
  } finally {
    client.disconnect();
  }
}
