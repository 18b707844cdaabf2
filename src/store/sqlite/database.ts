// Opens the SQLite store's one database file: creates its directory, sets the pragmas the store relies on and
// brings the schema up to date. Every way this can fail becomes one StoreUnavailableError naming the file, so a
// bad path, a corrupt file or a file from a newer Portcullis stops startup with a message instead of a crash.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../store.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';

export type SqliteDatabase = Database.Database;

/**
 * How long a statement waits for a lock held by another connection (a backup or the sqlite3 shell). The wait
 * blocks the event loop, since better-sqlite3 is synchronous, so it is kept short: a longer hold answers 503.
 */
const BUSY_TIMEOUT_MS = 1000;

export function openDatabase(path: string): SqliteDatabase {
  let db: SqliteDatabase | null = null;
  try {
    mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    // WAL: readers never wait for the writer and a commit appends to the log instead of rewriting pages.
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL cannot corrupt the file and loses nothing when the process dies; only an OS crash or
    // power loss can roll back the last commits. FULL would fsync on every commit, and that wait would block the
    // event loop for each login, rotation and counted failure.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, path);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(`SQLite store at ${path}: cannot open the database: ${describe(error)}`);
  }
}

/**
 * Applies the migrations the file has not seen yet, all in one transaction, so a failed start changes nothing.
 * The version is read inside the write transaction: two processes opening a new file at once migrate it once.
 */
function migrate(db: SqliteDatabase, path: string): void {
  const readVersion = () => db.pragma('user_version', { simple: true }) as number;
  const refuseNewer = (version: number) => {
    if (version <= LATEST_VERSION) return;
    throw new StoreUnavailableError(
      `SQLite store at ${path}: the database has schema version ${version}, but this Portcullis knows versions up to ` +
        `${LATEST_VERSION}; it was written by a newer Portcullis. Run that version, or point store.path at another file.`,
    );
  };
  // Checked before taking the write lock too, so a file from a newer version is refused even when it is read-only.
  const seen = readVersion();
  refuseNewer(seen);
  if (seen === LATEST_VERSION) return;
  db.transaction(() => {
    const current = readVersion();
    refuseNewer(current);
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      // Inside the transaction: the version moves only together with the schema it describes.
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
