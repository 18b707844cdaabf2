// Refresh-token families and their refresh tokens in the SQLite store. Redemption reads and rotates in one
// immediate transaction: the database lock, not the event loop, is what lets exactly one of several racing
// redeems rotate, and a failure half-way rolls the whole rotation back. Deleting a family deletes its tokens.

import { byCreation, familyKeepUntil } from '../records.js';
import type { FamilyFilter, RedeemResult, TokenFamilyRecord } from '../store.js';
import type { SqliteConnection } from './connection.js';
import type { SqliteDatabase } from './database.js';

interface FamilyRow {
  id: string;
  client_id: string;
  subject: string;
  scope: string;
  created_at: number;
  last_used_at: number;
  refresh_expires_at: number | null;
  access_expires_at: number;
  revoked_at: number | null;
}

interface TokenRow {
  family_id: string;
  consumed: number;
  expires_at: number;
}

/** What a redemption found, and whether it revoked the family just now (then an event is due after commit). */
export type Redemption = { result: RedeemResult; revoked: boolean };

const COLUMNS = 'id, client_id, subject, scope, created_at, last_used_at, refresh_expires_at, access_expires_at, revoked_at';
const MATCHES = '(@clientId IS NULL OR client_id = @clientId) AND (@subject IS NULL OR subject = @subject)';

function toRecord(row: FamilyRow): TokenFamilyRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    subject: row.subject,
    scope: row.scope,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    refreshExpiresAt: row.refresh_expires_at,
    accessExpiresAt: row.access_expires_at,
    revokedAt: row.revoked_at,
  };
}

type Next = { refreshExpiresAt: number; accessExpiresAt: number };

function prepare(db: SqliteDatabase) {
  // An existing family is updated in place rather than replaced, so its refresh tokens (kept for reuse
  // detection) stay, as they do in the memory store.
  const upsertFamily = db.prepare(
    `INSERT INTO families (${COLUMNS}, keep_until)
     VALUES (@id, @clientId, @subject, @scope, @createdAt, @lastUsedAt, @refreshExpiresAt, @accessExpiresAt, @revokedAt, @keepUntil)
     ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, subject = excluded.subject, scope = excluded.scope,
       created_at = excluded.created_at, last_used_at = excluded.last_used_at, refresh_expires_at = excluded.refresh_expires_at,
       access_expires_at = excluded.access_expires_at, revoked_at = excluded.revoked_at, keep_until = excluded.keep_until`,
  );
  const putToken = db.prepare('INSERT OR REPLACE INTO refresh_tokens (hash, family_id, consumed, expires_at) VALUES (?, ?, ?, ?)');
  const getToken = db.prepare<[string], TokenRow>('SELECT family_id, consumed, expires_at FROM refresh_tokens WHERE hash = ?');
  const consumeToken = db.prepare('UPDATE refresh_tokens SET consumed = 1, expires_at = ? WHERE hash = ?');
  const deleteToken = db.prepare('DELETE FROM refresh_tokens WHERE hash = ?');
  const getAny = db.prepare<[string], FamilyRow & { keep_until: number }>(`SELECT ${COLUMNS}, keep_until FROM families WHERE id = ?`);
  const getRedeemable = db.prepare<{ hash: string; now: number }, FamilyRow>(
    `SELECT ${COLUMNS.split(', ').map((c) => `f.${c}`).join(', ')} FROM refresh_tokens t JOIN families f ON f.id = t.family_id
     WHERE t.hash = @hash AND t.consumed = 0 AND t.expires_at > @now AND f.keep_until > @now AND f.revoked_at IS NULL`,
  );
  const getLive = db.prepare<{ id: string; now: number }, FamilyRow>(`SELECT ${COLUMNS} FROM families WHERE id = @id AND keep_until > @now`);
  const deleteFamily = db.prepare('DELETE FROM families WHERE id = ?');
  const markRevoked = db.prepare('UPDATE families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const rotateFamily = db.prepare(
    'UPDATE families SET last_used_at = @now, refresh_expires_at = @refresh, access_expires_at = @access, keep_until = @keepUntil WHERE id = @id',
  );

  return {
    getLive,
    getRedeemable,
    list: db.prepare<{ clientId: string | null; subject: string | null; now: number }, FamilyRow>(
      `SELECT ${COLUMNS} FROM families WHERE ${MATCHES} AND keep_until > @now`,
    ),
    // Tokens first and counted on their own: the cascade from deleting a family would remove them uncounted.
    purgeTokens: db.prepare<{ now: number }>(
      'DELETE FROM refresh_tokens WHERE expires_at <= @now OR family_id IN (SELECT id FROM families WHERE keep_until <= @now)',
    ),
    purgeFamilies: db.prepare<[number]>('DELETE FROM families WHERE keep_until <= ?'),

    create: db.transaction((family: TokenFamilyRecord, hash: string | null) => {
      upsertFamily.run({ ...family, keepUntil: familyKeepUntil(family) });
      if (hash !== null) putToken.run(hash, family.id, 0, family.refreshExpiresAt);
    }),

    // The same decisions in the same order as MemoryStore.redeemRefreshToken.
    redeem: db.transaction((hash: string, nextHash: string, next: Next, now: number): Redemption => {
      const token = getToken.get(hash);
      if (token === undefined) return { result: { status: 'unknown' }, revoked: false };
      if (now >= token.expires_at) {
        deleteToken.run(hash);
        return { result: { status: 'expired' }, revoked: false };
      }
      const row = getAny.get(token.family_id);
      if (row === undefined) return { result: { status: 'unknown' }, revoked: false };
      if (now >= row.keep_until) {
        deleteFamily.run(row.id);
        return { result: { status: 'expired' }, revoked: false };
      }
      const family = toRecord(row);
      if (token.consumed !== 0) {
        // Reuse is checked before revocation so every replay of a stolen token reports 'reused', not only the first.
        const revoked = family.revokedAt === null;
        if (revoked) {
          markRevoked.run(now, family.id);
          family.revokedAt = now;
        }
        return { result: { status: 'reused', family }, revoked };
      }
      if (family.revokedAt !== null) return { result: { status: 'revoked' }, revoked: false };

      consumeToken.run(next.refreshExpiresAt, hash);
      putToken.run(nextHash, family.id, 0, next.refreshExpiresAt);
      const rotated: TokenFamilyRecord = { ...family, lastUsedAt: now, refreshExpiresAt: next.refreshExpiresAt, accessExpiresAt: next.accessExpiresAt };
      rotateFamily.run({ id: family.id, now, refresh: next.refreshExpiresAt, access: next.accessExpiresAt, keepUntil: familyKeepUntil(rotated) });
      return { result: { status: 'rotated', family: rotated }, revoked: false };
    }),

    revoke: db.transaction((id: string, now: number): boolean => {
      if (getLive.get({ id, now }) === undefined) return false;
      markRevoked.run(now, id);
      return true;
    }),
  };
}

export class SqliteFamilies {
  readonly #s: ReturnType<typeof prepare>;

  constructor(private readonly connection: SqliteConnection) {
    this.#s = prepare(connection.db);
  }

  create(family: TokenFamilyRecord, refreshTokenHash: string | null): void {
    if (refreshTokenHash !== null && family.refreshExpiresAt === null) {
      throw new TypeError('createFamily: a refresh token needs family.refreshExpiresAt');
    }
    this.connection.run('createFamily', () => this.#s.create.immediate(family, refreshTokenHash));
  }

  get(id: string, now: number): TokenFamilyRecord | null {
    const row = this.connection.run('getFamily', () => this.#s.getLive.get({ id, now }));
    return row === undefined ? null : toRecord(row);
  }

  redeemable(hash: string, now: number): TokenFamilyRecord | null {
    const row = this.connection.run('redeemableRefreshToken', () => this.#s.getRedeemable.get({ hash, now }));
    return row === undefined ? null : toRecord(row);
  }

  redeem(hash: string, nextHash: string, next: Next, now: number): Redemption {
    return this.connection.run('redeemRefreshToken', () => this.#s.redeem.immediate(hash, nextHash, next, now));
  }

  /** Marks a live family revoked (keeping an earlier revocation time); false when there is no live family. */
  revoke(id: string, now: number): boolean {
    return this.connection.run('revokeFamily', () => this.#s.revoke.immediate(id, now));
  }

  list(filter: FamilyFilter, now: number): TokenFamilyRecord[] {
    const params = { clientId: filter.clientId ?? null, subject: filter.subject ?? null, now };
    const rows = this.connection.run('listFamilies', () => this.#s.list.all(params));
    return rows.map(toRecord).sort(byCreation);
  }

  /** Drops dead families and the refresh tokens nobody can redeem any more; only inside the purge transaction. */
  purge(now: number): number {
    return this.#s.purgeTokens.run({ now }).changes + this.#s.purgeFamilies.run(now).changes;
  }
}
