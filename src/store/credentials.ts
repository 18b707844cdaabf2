// The contract of the credentials administrators manage at runtime (API keys, API users, OAuth clients,
// operators) and of the audit log of every admin change. Each store (memory, SQLite, Redis) offers one beside its
// session state. The store keeps records opaque: their fields are validated and interpreted by
// `src/credentials/`, and only ever hold secrets as hashes.

export const CREDENTIAL_KINDS = ['key', 'user', 'client', 'operator'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** How many audit entries a store keeps; older ones are dropped as new ones arrive. */
export const AUDIT_RETENTION = 10_000;

export interface CredentialRecord {
  kind: CredentialKind;
  /** The key id, the API user's or operator's login, the client id. */
  id: string;
  /** 1 when created, one more on every update: what `If-Match` compares. */
  version: number;
  createdAt: number;
  updatedAt: number;
  /** The record's fields, JSON-serialisable; secrets only as hashes. */
  data: Record<string, unknown>;
}

/** One admin change: who (the admin token's name), what, when, and the record before and after, never a secret. */
export interface AuditEntry {
  /** Assigned by the store, increasing: the newest entry has the highest. */
  seq: number;
  at: number;
  actor: string;
  action: 'create' | 'update' | 'delete' | 'revoke';
  /** The grid the change was made in: keys, users, clients, operators, sessions, token-families. */
  grid: string;
  /** The id of the record changed. */
  target: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** Consequences of the change, e.g. `{ sessionsEnded: 3 }`. */
  detail?: Record<string, unknown>;
}

export type AuditInput = Omit<AuditEntry, 'seq'>;

/** What a write found: done (with the record as written, or as it was before a delete), or a version conflict. */
export type CredentialWrite =
  | { ok: true; record: CredentialRecord }
  /** The record's current version was not the one expected; `current` is what is there now (null: nothing). */
  | { ok: false; current: CredentialRecord | null };

export interface CredentialStore {
  /** Every managed record, of every kind. */
  list(): Promise<CredentialRecord[]>;
  get(kind: CredentialKind, id: string): Promise<CredentialRecord | null>;
  /**
   * Writes `data` as record (kind, id) if its current version is `expected` (null: the record must not exist,
   * and it is created with version 1), appending `audit` in the same atomic step. Every process sharing the store
   * is told (see `onChange`).
   */
  put(kind: CredentialKind, id: string, data: Record<string, unknown>, expected: number | null, now: number, audit: AuditInput): Promise<CredentialWrite>;
  /** Removes record (kind, id) if its current version is `expected`, appending `audit` in the same atomic step. */
  remove(kind: CredentialKind, id: string, expected: number, audit: AuditInput): Promise<CredentialWrite>;
  /** Appends an entry for a change that is not a credential write (an admin ending sessions). */
  appendAudit(audit: AuditInput): Promise<AuditEntry>;
  /** Newest first: at most `limit` entries with `seq` below `before` (all when absent). */
  listAudit(query: { before?: number; limit: number }): Promise<AuditEntry[]>;
  /**
   * Called after any put or remove, by this or another process; after a lost connection too (changes may have
   * been missed). For a write of this process the listener is told which record it was; otherwise (another
   * process, a resync) it gets null and re-reads `list()`. Returns an unsubscribe function.
   */
  onChange(listener: (change: CredentialChange | null) => void): () => void;
}

/** A write this process made: the record and the version it is now at (null: removed). */
export interface CredentialChange {
  kind: CredentialKind;
  id: string;
  version: number | null;
}
