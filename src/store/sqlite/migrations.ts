// The SQLite store's schema, as numbered migrations. The file's `PRAGMA user_version` says how many have been
// applied; a new schema change is a new entry at the end, never an edit of a shipped one.
//
// Times are milliseconds since the epoch. Each table keeps the instant its row dies (`deadline`, `keep_until`,
// `expires_at`, `until`, `reset_at`) so liveness is one comparison and purging one indexed delete.

export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE sessions (
        id              TEXT PRIMARY KEY,
        key_id          TEXT NOT NULL,
        user            TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        last_activity   INTEGER NOT NULL,
        expires_at      INTEGER,
        idle_timeout_ms INTEGER NOT NULL,
        -- When the session dies (lifetime or idleness, whichever is first); NULL = never.
        deadline        INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX sessions_by_deadline ON sessions (deadline) WHERE deadline IS NOT NULL;
      CREATE INDEX sessions_by_key ON sessions (key_id);
      CREATE INDEX sessions_by_user ON sessions (user);

      CREATE TABLE families (
        id                 TEXT PRIMARY KEY,
        client_id          TEXT NOT NULL,
        subject            TEXT NOT NULL,
        scope              TEXT NOT NULL,
        created_at         INTEGER NOT NULL,
        last_used_at       INTEGER NOT NULL,
        refresh_expires_at INTEGER,
        access_expires_at  INTEGER NOT NULL,
        revoked_at         INTEGER,
        -- The later of the refresh and access expiry: until then the family is kept, revoked or not.
        keep_until         INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX families_by_keep_until ON families (keep_until);
      CREATE INDEX families_by_client ON families (client_id);
      CREATE INDEX families_by_subject ON families (subject);

      CREATE TABLE refresh_tokens (
        hash       TEXT PRIMARY KEY,
        family_id  TEXT NOT NULL REFERENCES families (id) ON DELETE CASCADE,
        consumed   INTEGER NOT NULL,
        -- Live token: end of redeemability. Consumed token: how long it is kept to recognise reuse.
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

      CREATE TABLE revoked_tokens (
        jti   TEXT PRIMARY KEY,
        until INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX revoked_tokens_by_until ON revoked_tokens (until);

      CREATE TABLE login_failures (
        key      TEXT PRIMARY KEY,
        count    INTEGER NOT NULL,
        reset_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX login_failures_by_reset ON login_failures (reset_at);
    `,
  },
  {
    version: 2,
    sql: `
      -- Managed credentials: opaque to the store, so the fields are one JSON object; (kind, id) names a record.
      CREATE TABLE credentials (
        kind       TEXT NOT NULL,
        id         TEXT NOT NULL,
        version    INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        data       TEXT NOT NULL,
        PRIMARY KEY (kind, id)
      ) WITHOUT ROWID;

      -- The admin audit log. AUTOINCREMENT: a seq is never handed out twice, even after the newest rows are
      -- gone, so a paging cursor (before = seq) can never point at a different entry later.
      CREATE TABLE audit (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        at    INTEGER NOT NULL,
        -- The rest of the entry (actor, action, grid, target, before, after, detail) as JSON.
        entry TEXT NOT NULL
      );
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
