// Shared state store on Redis (standalone, Sentinel or Cluster) for several Portcullis processes or replicas.
// Sessions, families and managed credentials have their own modules; revoked tokens and failure counters are
// single keys, kept here.
// Every check-then-write runs as one Lua script so it stays atomic across processes.

import { systemClock, type Clock } from '../../clock.js';
import type { RevocationListener } from '../records.js';
import type { FamilyFilter, LoginAttemptHold, RedeemResult, SessionFilter, SessionRecord, Store, TokenFamilyRecord } from '../store.js';
import { resolveRedisOptions, type RedisStoreOptions } from './client-options.js';
import { RedisConnection } from './connection.js';
import { RedisCredentials, type RedisCredentialOptions } from './credentials.js';
import { relTtl, str } from './encoding.js';
import { RedisFamilies } from './families.js';
import { RedisKeys } from './keys.js';
import { runScript } from './scripts.js';
import { RedisSessions } from './sessions.js';

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly credentials: RedisCredentials;

  readonly #clock: Clock;
  readonly #keys: RedisKeys;
  readonly #connection: RedisConnection;
  readonly #sessions: RedisSessions;
  readonly #families: RedisFamilies;

  constructor(options: RedisStoreOptions, clock: Clock = systemClock, credentialOptions: RedisCredentialOptions = {}) {
    const resolved = resolveRedisOptions(options);
    this.#clock = clock;
    this.#keys = new RedisKeys(resolved.keyPrefix);
    this.#connection = new RedisConnection(resolved, this.#keys.revocationChannel);
    const context = { connection: this.#connection, keys: this.#keys, clock };
    this.#sessions = new RedisSessions(context);
    this.#families = new RedisFamilies(context);
    this.credentials = new RedisCredentials(context, credentialOptions);
  }

  /** Resolves once both connections are up and the revocation channel is subscribed. */
  waitUntilReady(timeoutMs?: number): Promise<void> {
    return this.#connection.waitUntilReady(timeoutMs);
  }

  // Sessions

  createSession(session: SessionRecord): Promise<void> {
    return this.#sessions.create(session);
  }

  getSession(id: string, now: number): Promise<SessionRecord | null> {
    return this.#sessions.get(id, now);
  }

  touchSession(id: string, now: number): Promise<SessionRecord | null> {
    return this.#sessions.touch(id, now);
  }

  deleteSession(id: string): Promise<boolean> {
    return this.#sessions.delete(id);
  }

  listSessions(filter: SessionFilter, now: number): Promise<SessionRecord[]> {
    return this.#sessions.list(filter, now);
  }

  deleteSessions(filter: SessionFilter): Promise<string[]> {
    return this.#sessions.deleteMatching(filter);
  }

  // Refresh-token families

  createFamily(family: TokenFamilyRecord, refreshTokenHash: string | null): Promise<void> {
    return this.#families.create(family, refreshTokenHash);
  }

  getFamily(id: string, now: number): Promise<TokenFamilyRecord | null> {
    return this.#families.get(id, now);
  }

  redeemRefreshToken(...redemption: Parameters<Store['redeemRefreshToken']>): Promise<RedeemResult> {
    return this.#families.redeem(...redemption);
  }

  redeemableRefreshToken(refreshTokenHash: string, now: number): Promise<TokenFamilyRecord | null> {
    return this.#families.redeemable(refreshTokenHash, now);
  }

  revokeFamily(id: string, now: number): Promise<boolean> {
    return this.#families.revoke(id, now);
  }

  listFamilies(filter: FamilyFilter, now: number): Promise<TokenFamilyRecord[]> {
    return this.#families.list(filter, now);
  }

  // Single-token revocations

  async revokeToken(jti: string, until: number): Promise<void> {
    const connection = this.#connection;
    const ttl = relTtl(until, this.#clock.now());
    await connection.run('revokeToken', () =>
      runScript(connection.client, 'pcRevokeToken', [this.#keys.revokedToken(jti)], [str(until), str(ttl)]),
    );
    await connection.publish([{ kind: 'token', jti, until }]);
    await connection.replicated('revokeToken');
  }

  async isTokenRevoked(jti: string, now: number): Promise<boolean> {
    const connection = this.#connection;
    const until = await connection.run('isTokenRevoked', () => connection.client.get(this.#keys.revokedToken(jti)));
    return until !== null && now < Number(until);
  }

  // Login-failure counters

  async recordFailure(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const connection = this.#connection;
    const resetAt = now + windowMs;
    const [count, reset] = (await connection.run('recordFailure', () =>
      runScript(connection.client, 'pcRecordFailure', [this.#keys.failures(key)], [str(now), str(resetAt), str(relTtl(resetAt, now))]),
    )) as [string, string];
    return { count: Number(count), resetAt: Number(reset) };
  }

  async failureCount(key: string, now: number): Promise<{ count: number; resetAt: number }> {
    const connection = this.#connection;
    const [count, resetAt] = await connection.run('failureCount', () => connection.client.hmget(this.#keys.failures(key), 'c', 'r'));
    if (count === null || resetAt === null || now >= Number(resetAt)) return { count: 0, resetAt: now };
    return { count: Number(count), resetAt: Number(resetAt) };
  }

  async holdLoginAttempt(key: string, limit: number, holdId: string, holdMs: number, now: number): Promise<LoginAttemptHold> {
    const connection = this.#connection;
    const [status, resetAt] = (await connection.run('holdLoginAttempt', () =>
      runScript(connection.client, 'pcHoldAttempt', [this.#keys.failures(key)], [str(now), str(limit), str(Math.max(1, Math.ceil(holdMs))), holdId]),
    )) as [string, string?];
    if (status === 'held' || status === 'busy') return { status };
    if (status === 'blocked') return { status, resetAt: Number(resetAt) };
    throw connection.unavailable('holdLoginAttempt', new Error('unexpected script reply'));
  }

  async releaseLoginAttempts(key: string, holdIds: string[]): Promise<void> {
    if (holdIds.length === 0) return;
    const connection = this.#connection;
    await connection.run('releaseLoginAttempts', () => connection.client.hdel(this.#keys.failures(key), ...holdIds.map((id) => `h:${id}`)));
  }

  async clearFailures(key: string): Promise<void> {
    const connection = this.#connection;
    await connection.run('clearFailures', () => connection.client.del(this.#keys.failures(key)));
  }

  /**
   * Returns 0 without a round trip, as nothing is left for a sweep: Redis drops every record by its TTL, and
   * every write to an index drops the members whose absolute end has passed and lets the index key expire with
   * its longest-lived member. Listings skip such members by score and remove those whose record Redis expired
   * (the only way a member without an absolute end goes), so a sweep from every process on every tick would
   * repeat that work at the cost of scanning every index.
   */
  purgeExpired(_now: number): number {
    return 0;
  }

  // Events and lifecycle

  onRevocation(listener: RevocationListener): () => void {
    return this.#connection.onRevocation(listener);
  }

  onResync(listener: () => void): () => void {
    return this.#connection.onResync(listener);
  }

  ping(): Promise<void> {
    return this.#connection.ping();
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}
