// Login-failure counters in the SQLite store: a fixed window per key that starts at the first failure. Counting
// is one upsert, so concurrent failures can never overwrite each other's count.

import type { SqliteConnection } from './connection.js';
import type { SqliteDatabase } from './database.js';

type Count = { count: number; resetAt: number };

function prepare(db: SqliteDatabase) {
  return {
    // The SET expressions see the row as it was: a window that has ended starts again at 1.
    record: db.prepare<{ key: string; now: number; resetAt: number }, { count: number; reset_at: number }>(
      `INSERT INTO login_failures (key, count, reset_at) VALUES (@key, 1, @resetAt)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN @now >= reset_at THEN 1 ELSE count + 1 END,
         reset_at = CASE WHEN @now >= reset_at THEN excluded.reset_at ELSE reset_at END
       RETURNING count, reset_at`,
    ),
    get: db.prepare<{ key: string; now: number }, { count: number; reset_at: number }>(
      'SELECT count, reset_at FROM login_failures WHERE key = @key AND reset_at > @now',
    ),
    clear: db.prepare<[string]>('DELETE FROM login_failures WHERE key = ?'),
    purge: db.prepare<[number]>('DELETE FROM login_failures WHERE reset_at <= ?'),
  };
}

export class SqliteFailures {
  readonly #s: ReturnType<typeof prepare>;

  constructor(private readonly connection: SqliteConnection) {
    this.#s = prepare(connection.db);
  }

  record(key: string, windowMs: number, now: number): Count {
    const row = this.connection.run('recordFailure', () => this.#s.record.get({ key, now, resetAt: now + windowMs }));
    if (row === undefined) throw new Error('recordFailure: the upsert returned no row');
    return { count: row.count, resetAt: row.reset_at };
  }

  count(key: string, now: number): Count {
    const row = this.connection.run('failureCount', () => this.#s.get.get({ key, now }));
    return row === undefined ? { count: 0, resetAt: now } : { count: row.count, resetAt: row.reset_at };
  }

  clear(key: string): void {
    this.connection.run('clearFailures', () => this.#s.clear.run(key));
  }

  /** Only inside the store's purge transaction. */
  purge(now: number): number {
    return this.#s.purge.run(now).changes;
  }
}
