// Durable state store for a single Portcullis process: one SQLite file (WAL mode) that keeps sessions, token
// families, revocations, failure counters, managed credentials and the admin audit log across restarts.
// better-sqlite3 is synchronous, so every method does its work at once and returns a settled promise; each
// multi-statement change is one transaction. Revocation events and credential changes are delivered in this
// process only, after the change is committed, as the memory store does.

import type { RevocationListener } from '../records.js';
import { RevocationListeners } from '../records.js';
import type { FamilyFilter, RedeemResult, RevocationEvent, SessionFilter, SessionRecord, Store, TokenFamilyRecord } from '../store.js';
import { SqliteConnection } from './connection.js';
import { SqliteCredentials } from './credentials.js';
import { openDatabase } from './database.js';
import { SqliteFailures } from './failures.js';
import { SqliteFamilies } from './families.js';
import { SqliteRevocations } from './revocations.js';
import { SqliteSessions } from './sessions.js';

export interface SqliteStoreOptions {
  /** The database file; created (with its directory) when missing. */
  path: string;
  /** How many admin audit entries the file keeps; AUDIT_RETENTION when absent. */
  auditRetention?: number;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly credentials: SqliteCredentials;

  readonly #connection: SqliteConnection;
  readonly #sessions: SqliteSessions;
  readonly #families: SqliteFamilies;
  readonly #revocations: SqliteRevocations;
  readonly #failures: SqliteFailures;
  readonly #purge: (now: number) => number;
  readonly #ping;
  readonly #listeners = new RevocationListeners();

  /** Opens (and if needed creates or migrates) the file; throws a StoreUnavailableError naming it when it cannot. */
  constructor(options: SqliteStoreOptions) {
    const db = openDatabase(options.path);
    this.#connection = new SqliteConnection(db, options.path);
    this.#sessions = new SqliteSessions(this.#connection);
    this.#families = new SqliteFamilies(this.#connection);
    this.#revocations = new SqliteRevocations(this.#connection);
    this.#failures = new SqliteFailures(this.#connection);
    this.credentials = new SqliteCredentials(this.#connection, { auditRetention: options.auditRetention });
    const purge = db.transaction(
      (now: number) => this.#sessions.purge(now) + this.#families.purge(now) + this.#revocations.purge(now) + this.#failures.purge(now),
    );
    this.#purge = (now) => purge.immediate(now);
    this.#ping = db.prepare('SELECT 1');
  }

  get path(): string {
    return this.#connection.path;
  }

  // Sessions

  async createSession(session: SessionRecord): Promise<void> {
    this.#sessions.create(session);
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    return this.#sessions.get(id, now);
  }

  async touchSession(id: string, now: number): Promise<SessionRecord | null> {
    return this.#sessions.touch(id, now);
  }

  async deleteSession(id: string): Promise<boolean> {
    if (!this.#sessions.delete(id)) return false;
    this.#emit({ kind: 'session', id });
    return true;
  }

  async listSessions(filter: SessionFilter, now: number): Promise<SessionRecord[]> {
    return this.#sessions.list(filter, now);
  }

  async deleteSessions(filter: SessionFilter): Promise<string[]> {
    const ids = this.#sessions.deleteMatching(filter);
    for (const id of ids) this.#emit({ kind: 'session', id });
    return ids;
  }

  // Refresh-token families

  async createFamily(family: TokenFamilyRecord, refreshTokenHash: string | null): Promise<void> {
    this.#families.create(family, refreshTokenHash);
  }

  async getFamily(id: string, now: number): Promise<TokenFamilyRecord | null> {
    return this.#families.get(id, now);
  }

  async redeemableRefreshToken(refreshTokenHash: string, now: number): Promise<TokenFamilyRecord | null> {
    return this.#families.redeemable(refreshTokenHash, now);
  }

  async redeemRefreshToken(
    refreshTokenHash: string,
    nextHash: string,
    next: { refreshExpiresAt: number; accessExpiresAt: number },
    now: number,
  ): Promise<RedeemResult> {
    const { result, revoked } = this.#families.redeem(refreshTokenHash, nextHash, next, now);
    if (revoked && result.status === 'reused') this.#emit({ kind: 'family', id: result.family.id });
    return result;
  }

  async revokeFamily(id: string, now: number): Promise<boolean> {
    if (!this.#families.revoke(id, now)) return false;
    this.#emit({ kind: 'family', id });
    return true;
  }

  async listFamilies(filter: FamilyFilter, now: number): Promise<TokenFamilyRecord[]> {
    return this.#families.list(filter, now);
  }

  // Single-token revocations

  async revokeToken(jti: string, until: number): Promise<void> {
    this.#revocations.revoke(jti, until);
    this.#emit({ kind: 'token', jti, until });
  }

  async isTokenRevoked(jti: string, now: number): Promise<boolean> {
    return this.#revocations.isRevoked(jti, now);
  }

  // Login-failure counters

  async recordFailure(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return this.#failures.record(key, windowMs, now);
  }

  async failureCount(key: string, now: number): Promise<{ count: number; resetAt: number }> {
    return this.#failures.count(key, now);
  }

  async clearFailures(key: string): Promise<void> {
    this.#failures.clear(key);
  }

  // Events and lifecycle

  onRevocation(listener: RevocationListener): () => void {
    return this.#listeners.add(listener);
  }

  async ping(): Promise<void> {
    this.#connection.run('ping', () => this.#ping.get());
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#connection.close();
  }

  /**
   * Deletes what is dead at `now` in one transaction and returns how many rows went. It runs from a timer, so
   * a failing database is reported as a warning (and tried again next time) rather than thrown.
   */
  purgeExpired(now: number): number {
    if (this.#connection.closed) return 0;
    try {
      return this.#connection.run('purgeExpired', () => this.#purge(now));
    } catch (error) {
      process.emitWarning(error as Error, 'SqliteStoreWarning');
      return 0;
    }
  }

  #emit(event: RevocationEvent): void {
    this.#listeners.deliver(event);
  }
}
