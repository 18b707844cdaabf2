// PCR-360 sessions in the SQLite store. Each row carries its deadline, so "live at now" is one comparison that
// reads and purges share. Reads never write: a dead row simply stops being returned until purgeExpired drops it.

import { byCreation, sessionDeadline } from '../records.js';
import type { SessionFilter, SessionRecord } from '../store.js';
import type { SqliteConnection } from './connection.js';
import type { SqliteDatabase } from './database.js';

interface SessionRow {
  id: string;
  key_id: string;
  user: string;
  created_at: number;
  last_activity: number;
  expires_at: number | null;
  idle_timeout_ms: number;
}

const COLUMNS = 'id, key_id, user, created_at, last_activity, expires_at, idle_timeout_ms';
const LIVE = '(deadline IS NULL OR deadline > @now)';
const MATCHES = '(@keyId IS NULL OR key_id = @keyId) AND (@user IS NULL OR user = @user)';

function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    keyId: row.key_id,
    user: row.user,
    createdAt: row.created_at,
    lastActivity: row.last_activity,
    expiresAt: row.expires_at,
    idleTimeoutMs: row.idle_timeout_ms,
  };
}

/** The deadline column: null for a session that never dies (SQLite has no infinity). */
function deadlineOf(session: Pick<SessionRecord, 'lastActivity' | 'expiresAt' | 'idleTimeoutMs'>): number | null {
  const deadline = sessionDeadline(session);
  return Number.isFinite(deadline) ? deadline : null;
}

function filterParams(filter: SessionFilter): { keyId: string | null; user: string | null } {
  return { keyId: filter.keyId ?? null, user: filter.user ?? null };
}

function prepare(db: SqliteDatabase) {
  const get = db.prepare<{ id: string; now: number }, SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE id = @id AND ${LIVE}`);
  const touch = db.prepare('UPDATE sessions SET last_activity = @now, deadline = @deadline WHERE id = @id');
  const remove = db.prepare<[string]>('DELETE FROM sessions WHERE id = ?');
  const matching = db.prepare<{ keyId: string | null; user: string | null }, { id: string }>(`SELECT id FROM sessions WHERE ${MATCHES}`);
  return {
    insert: db.prepare(
      `INSERT OR REPLACE INTO sessions (${COLUMNS}, deadline)
       VALUES (@id, @keyId, @user, @createdAt, @lastActivity, @expiresAt, @idleTimeoutMs, @deadline)`,
    ),
    get,
    remove,
    list: db.prepare<{ keyId: string | null; user: string | null; now: number }, SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE ${MATCHES} AND ${LIVE}`),
    purge: db.prepare<[number]>('DELETE FROM sessions WHERE deadline IS NOT NULL AND deadline <= ?'),
    touchLive: db.transaction((id: string, now: number): SessionRecord | null => {
      const row = get.get({ id, now });
      if (row === undefined) return null;
      const session = toRecord(row);
      if (now > session.lastActivity) {
        session.lastActivity = now;
        touch.run({ id, now, deadline: deadlineOf(session) });
      }
      return session;
    }),
    deleteMatching: db.transaction((filter: SessionFilter): string[] => {
      const ids = matching.all(filterParams(filter)).map((row) => row.id);
      for (const id of ids) remove.run(id);
      return ids;
    }),
  };
}

export class SqliteSessions {
  readonly #s: ReturnType<typeof prepare>;

  constructor(private readonly connection: SqliteConnection) {
    this.#s = prepare(connection.db);
  }

  create(session: SessionRecord): void {
    this.connection.run('createSession', () => this.#s.insert.run({ ...session, deadline: deadlineOf(session) }));
  }

  get(id: string, now: number): SessionRecord | null {
    const row = this.connection.run('getSession', () => this.#s.get.get({ id, now }));
    return row === undefined ? null : toRecord(row);
  }

  /** Read and write in one immediate transaction, so a concurrent delete can never be undone by the touch. */
  touch(id: string, now: number): SessionRecord | null {
    return this.connection.run('touchSession', () => this.#s.touchLive.immediate(id, now));
  }

  delete(id: string): boolean {
    return this.connection.run('deleteSession', () => this.#s.remove.run(id).changes > 0);
  }

  list(filter: SessionFilter, now: number): SessionRecord[] {
    const rows = this.connection.run('listSessions', () => this.#s.list.all({ ...filterParams(filter), now }));
    return rows.map(toRecord).sort(byCreation);
  }

  /** Deletes every matching session, live or not, as the memory store does; returns their ids. */
  deleteMatching(filter: SessionFilter): string[] {
    return this.connection.run('deleteSessions', () => this.#s.deleteMatching.immediate(filter));
  }

  /** Drops the sessions dead at `now`; only called inside the store's purge transaction. */
  purge(now: number): number {
    return this.#s.purge.run(now).changes;
  }
}
