// Single-token revocations in the SQLite store: one row per revoked jti, kept until the token would have
// expired anyway. Unlike the memory store there is no bound, so a live revocation is never evicted.

import type { SqliteConnection } from './connection.js';
import type { SqliteDatabase } from './database.js';

function prepare(db: SqliteDatabase) {
  return {
    // Two revocations of one jti keep the later end, whatever order they arrive in.
    revoke: db.prepare<[string, number]>(
      'INSERT INTO revoked_tokens (jti, until) VALUES (?, ?) ON CONFLICT (jti) DO UPDATE SET until = max(until, excluded.until)',
    ),
    isRevoked: db.prepare<[string, number], { found: number }>('SELECT 1 AS found FROM revoked_tokens WHERE jti = ? AND until > ?'),
    purge: db.prepare<[number]>('DELETE FROM revoked_tokens WHERE until <= ?'),
  };
}

export class SqliteRevocations {
  readonly #s: ReturnType<typeof prepare>;

  constructor(private readonly connection: SqliteConnection) {
    this.#s = prepare(connection.db);
  }

  revoke(jti: string, until: number): void {
    this.connection.run('revokeToken', () => this.#s.revoke.run(jti, until));
  }

  isRevoked(jti: string, now: number): boolean {
    return this.connection.run('isTokenRevoked', () => this.#s.isRevoked.get(jti, now) !== undefined);
  }

  /** Only inside the store's purge transaction. */
  purge(now: number): number {
    return this.#s.purge.run(now).changes;
  }
}
