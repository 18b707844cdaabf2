// Managed credentials and the admin audit log in the SQLite store. A write compares versions, changes the record
// and appends (and trims) the audit log in one immediate transaction, so a failure half-way leaves neither the
// change nor its entry. Records and entries are kept as JSON text and parsed afresh on every read, so callers
// always get copies. Listeners are told after the commit, in this process only, as the memory store does.

import { ChangeListeners, type ChangeListener } from '../credential-listeners.js';
import type { AuditEntry, AuditInput, CredentialKind, CredentialRecord, CredentialStore, CredentialWrite } from '../credentials.js';
import { AUDIT_RETENTION } from '../credentials.js';
import type { SqliteConnection } from './connection.js';
import type { SqliteDatabase } from './database.js';

interface CredentialRow {
  kind: CredentialKind;
  id: string;
  version: number;
  created_at: number;
  updated_at: number;
  data: string;
}

interface AuditRow {
  seq: number;
  at: number;
  entry: string;
}

type Slot = { kind: CredentialKind; id: string };

const COLUMNS = 'kind, id, version, created_at, updated_at, data';

function toRecord(row: CredentialRow): CredentialRecord {
  return {
    kind: row.kind,
    id: row.id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

function toEntry(row: AuditRow): AuditEntry {
  return { seq: row.seq, at: row.at, ...(JSON.parse(row.entry) as Omit<AuditInput, 'at'>) };
}

function prepare(db: SqliteDatabase, retention: number) {
  const get = db.prepare<Slot, CredentialRow>(`SELECT ${COLUMNS} FROM credentials WHERE kind = @kind AND id = @id`);
  const upsert = db.prepare<CredentialRow>(
    `INSERT INTO credentials (${COLUMNS}) VALUES (@kind, @id, @version, @created_at, @updated_at, @data)
     ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, data = excluded.data`,
  );
  const remove = db.prepare<Slot>('DELETE FROM credentials WHERE kind = @kind AND id = @id');
  const insertAudit = db.prepare<{ at: number; entry: string }, AuditRow>('INSERT INTO audit (at, entry) VALUES (@at, @entry) RETURNING seq, at, entry');
  // Keeps the newest `retention` entries: the one `retention` places below the newest, and all older, go. When
  // there are fewer, the subquery is NULL and nothing matches.
  const trimAudit = db.prepare<[number]>('DELETE FROM audit WHERE seq <= (SELECT seq FROM audit ORDER BY seq DESC LIMIT 1 OFFSET ?)');

  /** Appends `audit` and trims the log; only inside a write transaction, which is what keeps the two together. */
  const append = (audit: AuditInput): AuditRow => {
    const { at, ...rest } = audit;
    const row = insertAudit.get({ at, entry: JSON.stringify(rest) });
    if (row === undefined) throw new Error('appendAudit: the insert returned no row');
    trimAudit.run(retention);
    return row;
  };

  return {
    get,
    // The primary key's order, so listing every record is one scan of the table without a sort.
    list: db.prepare<[], CredentialRow>(`SELECT ${COLUMNS} FROM credentials ORDER BY kind, id`),
    // A plain range on seq, so a page is read backwards from `before` along the primary key.
    listAudit: db.prepare<{ before: number; limit: number }, AuditRow>('SELECT seq, at, entry FROM audit WHERE seq < @before ORDER BY seq DESC LIMIT @limit'),
    append: db.transaction(append),
    /** The row as written, or the row whose version did not match (undefined: there was none). */
    put: db.transaction((next: CredentialRow, expected: number | null, audit: AuditInput): { written: CredentialRow } | { current: CredentialRow | undefined } => {
      const current = get.get({ kind: next.kind, id: next.id });
      if ((current?.version ?? null) !== expected) return { current };
      const written = { ...next, version: (current?.version ?? 0) + 1, created_at: current?.created_at ?? next.created_at };
      upsert.run(written);
      append(audit);
      return { written };
    }),
    remove: db.transaction((slot: Slot, expected: number, audit: AuditInput): { removed: CredentialRow } | { current: CredentialRow | undefined } => {
      const current = get.get(slot);
      if (current === undefined || current.version !== expected) return { current };
      remove.run(slot);
      append(audit);
      return { removed: current };
    }),
  };
}

export interface SqliteCredentialsOptions {
  /** How many audit entries to keep; AUDIT_RETENTION unless a test wants to see trimming with a few. */
  auditRetention?: number;
}

export class SqliteCredentials implements CredentialStore {
  readonly #s: ReturnType<typeof prepare>;
  readonly #listeners = new ChangeListeners();

  constructor(
    private readonly connection: SqliteConnection,
    options: SqliteCredentialsOptions = {},
  ) {
    this.#s = prepare(connection.db, options.auditRetention ?? AUDIT_RETENTION);
  }

  async list(): Promise<CredentialRecord[]> {
    return this.connection.run('listCredentials', () => this.#s.list.all()).map(toRecord);
  }

  async get(kind: CredentialKind, id: string): Promise<CredentialRecord | null> {
    const row = this.connection.run('getCredential', () => this.#s.get.get({ kind, id }));
    return row === undefined ? null : toRecord(row);
  }

  async put(kind: CredentialKind, id: string, data: Record<string, unknown>, expected: number | null, now: number, audit: AuditInput): Promise<CredentialWrite> {
    // Serialised before the transaction: data that is not JSON fails here, with a TypeError, before any write.
    const next: CredentialRow = { kind, id, version: 0, created_at: now, updated_at: now, data: JSON.stringify(data) };
    const outcome = this.connection.run('putCredential', () => this.#s.put.immediate(next, expected, audit));
    if ('current' in outcome) return { ok: false, current: outcome.current === undefined ? null : toRecord(outcome.current) };
    const record = toRecord(outcome.written);
    this.#listeners.notify({ kind, id, version: record.version });
    return { ok: true, record };
  }

  async remove(kind: CredentialKind, id: string, expected: number, audit: AuditInput): Promise<CredentialWrite> {
    const outcome = this.connection.run('removeCredential', () => this.#s.remove.immediate({ kind, id }, expected, audit));
    if ('current' in outcome) return { ok: false, current: outcome.current === undefined ? null : toRecord(outcome.current) };
    this.#listeners.notify({ kind, id, version: null });
    return { ok: true, record: toRecord(outcome.removed) };
  }

  async appendAudit(audit: AuditInput): Promise<AuditEntry> {
    return toEntry(this.connection.run('appendAudit', () => this.#s.append.immediate(audit)));
  }

  async listAudit(query: { before?: number; limit: number }): Promise<AuditEntry[]> {
    // SQLite reads a negative LIMIT as none at all; asking for fewer than one entry gets none, as in memory.
    const limit = Math.max(0, query.limit);
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    const rows = this.connection.run('listAudit', () => this.#s.listAudit.all({ before, limit }));
    return rows.map(toEntry);
  }

  onChange(listener: ChangeListener): () => void {
    return this.#listeners.add(listener);
  }
}
