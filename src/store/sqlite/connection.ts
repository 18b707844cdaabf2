// The SQLite store's handle on its database: every operation runs through `run`, which turns whatever the
// database throws (disk full, I/O error, a lock held too long, a closed handle) into a StoreUnavailableError, so
// callers answer 503 exactly as they do when Redis fails.

import { StoreUnavailableError } from '../store.js';
import type { SqliteDatabase } from './database.js';

export class SqliteConnection {
  #closed = false;

  constructor(
    readonly db: SqliteDatabase,
    readonly path: string,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `fn` against the database; any failure becomes a StoreUnavailableError naming `op` and the file. */
  run<T>(op: string, fn: () => T): T {
    if (this.#closed) throw new StoreUnavailableError(`SQLite store is closed (${op})`);
    try {
      return fn();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(`SQLite store at ${this.path} failed (${op}): ${message}`);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.db.close();
  }
}
