// SqliteStore: the shared conformance suites (session state and managed credentials) on a fresh file per test,
// plus what only a durable store has: data and the audit log surviving closing and reopening the file, the schema
// version check and migration, files it cannot use, and writes that fail half-way without leaving anything
// half-written.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadConfigText } from '../../src/config-loader.js';
import { createStore } from '../../src/store/factory.js';
import type { AuditInput } from '../../src/store/credentials.js';
import { LATEST_VERSION, MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { StoreUnavailableError, type RevocationEvent, type Store } from '../../src/store/store.js';
import { NO_STORE_SECRETS, sqliteStoreSettings } from '../helpers/store-options.js';
import { storeConformanceSuite } from './conformance.js';
import { credentialConformanceSuite } from './credential-conformance.js';
import { familyAt, sessionAt, T0 } from './records-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'portcullis-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
/** A new directory for one test's database. */
const freshDir = () => mkdtempSync(join(root, `t${++counter}-`));

const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));
const audit = (target: string, over: Partial<AuditInput> = {}): AuditInput => ({ at: T0, actor: 'ops', action: 'create', grid: 'keys', target, before: null, after: { id: target }, ...over });

const sqliteHarness = async () => {
  const dir = freshDir();
  const clock = new ManualClock();
  const store = await createStore(sqliteStoreSettings({ path: join(dir, 'state.db') }), clock, NO_STORE_SECRETS);
  return {
    store,
    clock,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
storeConformanceSuite('SqliteStore', sqliteHarness);
credentialConformanceSuite('SqliteStore', sqliteHarness);

describe('SqliteStore specifics', () => {
  const t0 = T0;
  const session = sessionAt;
  const family = familyAt;

  const open: Store[] = [];
  /** Through the config, or directly for what the config does not offer (a short audit log). */
  const openStore = async (path: string, auditRetention?: number): Promise<Store> => {
    const store = auditRetention ? new SqliteStore({ path, auditRetention }) : await createStore(sqliteStoreSettings({ path }), new ManualClock(t0), NO_STORE_SECRETS);
    open.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });

  /** What createStore threw for `path`, which must be a StoreUnavailableError. */
  const openFailure = async (path: string): Promise<StoreUnavailableError> => {
    const error = await openStore(path).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
    return error as StoreUnavailableError;
  };

  it('is a sqlite store on a WAL-mode file at the latest schema version, creating missing directories', async () => {
    const path = join(freshDir(), 'nested', 'deeper', 'state.db');
    const store = await openStore(path);
    expect(store.kind).toBe('sqlite');
    expect(store).toBeInstanceOf(SqliteStore);
    const peek = new Database(path, { readonly: true });
    try {
      expect(peek.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(peek.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    } finally {
      peek.close();
    }
  });

  it('keeps every kind of record across closing and reopening the file', async () => {
    const path = join(freshDir(), 'state.db');
    const first = await openStore(path);
    await first.createSession(session('s1', { idleTimeoutMs: 10_000 }));
    await first.touchSession('s1', t0 + 500);
    await first.createFamily(family('f1'), 'h1');
    expect((await first.redeemRefreshToken('h1', 'h2', { refreshExpiresAt: t0 + 90_000, accessExpiresAt: t0 + 40_000 }, t0 + 1000)).status).toBe('rotated');
    await first.createFamily(family('f2'), 'g1');
    await first.revokeFamily('f2', t0 + 1000);
    await first.revokeToken('jti-1', t0 + 50_000);
    await first.recordFailure('user:alice', 60_000, t0);
    await first.recordFailure('user:alice', 60_000, t0 + 1);
    await first.close();

    const second = await openStore(path);
    const events: RevocationEvent[] = [];
    second.onRevocation((e) => events.push(e));
    expect(await second.getSession('s1', t0 + 10_499)).toEqual({ ...session('s1', { idleTimeoutMs: 10_000 }), lastActivity: t0 + 500 });
    expect(await second.getSession('s1', t0 + 10_500)).toBeNull();
    expect(await second.getFamily('f1', t0 + 2000)).toMatchObject({ lastUsedAt: t0 + 1000, refreshExpiresAt: t0 + 90_000 });
    expect((await second.redeemRefreshToken('h1', 'hx', { refreshExpiresAt: t0 + 1, accessExpiresAt: t0 + 1 }, t0 + 2000)).status).toBe('reused');
    expect(await second.redeemRefreshToken('g1', 'gx', { refreshExpiresAt: t0 + 1, accessExpiresAt: t0 + 1 }, t0 + 2000)).toEqual({ status: 'revoked' });
    expect(await second.isTokenRevoked('jti-1', t0 + 49_999)).toBe(true);
    expect(await second.failureCount('user:alice', t0 + 2)).toEqual({ count: 2, resetAt: t0 + 60_000 });
    await settle();
    // Only what happened after the reopen is an event: the reuse just detected.
    expect(events).toEqual([{ kind: 'family', id: 'f1' }]);
  });

  it('purgeExpired removes exactly what is dead at `now` and counts it', async () => {
    const store = await openStore(join(freshDir(), 'state.db'));
    await store.createSession(session('idle', { idleTimeoutMs: 1000 }));
    await store.createSession(session('forever'));
    await store.createFamily(family('f', { refreshExpiresAt: t0 + 2000, accessExpiresAt: t0 + 500 }), 'h');
    await store.revokeToken('j', t0 + 1000);
    await store.recordFailure('ip', 1000, t0);

    expect(store.purgeExpired(t0 + 999)).toBe(0);
    expect(store.purgeExpired(t0 + 1000)).toBe(3); // idle session, revocation, failure counter
    expect(await store.getSession('forever', t0 + 1000)).not.toBeNull();
    expect(await store.getFamily('f', t0 + 1999)).not.toBeNull();
    expect(store.purgeExpired(t0 + 2000)).toBe(2); // family and its refresh token
    expect(await store.redeemRefreshToken('h', 'h2', { refreshExpiresAt: t0 + 9000, accessExpiresAt: t0 + 9000 }, t0)).toEqual({ status: 'unknown' });
  });

  it('refuses a corrupt file with an error naming it', async () => {
    const path = join(freshDir(), 'state.db');
    writeFileSync(path, randomBytes(8192));
    const error = await openFailure(path);
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/not a database/);
  });

  it('refuses a path that can never be created with an error naming it', async () => {
    // Under a regular file: no directory can be made there, whoever runs the test (root included).
    const blocker = join(freshDir(), 'a-file');
    writeFileSync(blocker, 'not a directory');
    const path = join(blocker, 'state.db');
    const error = await openFailure(path);
    expect(error.message).toContain(path);
  });

  it('refuses a file written by a newer schema version, and leaves it as it is', async () => {
    const path = join(freshDir(), 'state.db');
    const newer = new Database(path);
    newer.exec('CREATE TABLE from_the_future (x INTEGER)');
    newer.pragma(`user_version = ${LATEST_VERSION + 1}`);
    newer.close();

    const error = await openFailure(path);
    expect(error.message).toContain(path);
    expect(error.message).toMatch(new RegExp(`schema version ${LATEST_VERSION + 1}.*up to ${LATEST_VERSION}.*newer Portcullis`));
    const peek = new Database(path, { readonly: true });
    try {
      expect(peek.pragma('user_version', { simple: true })).toBe(LATEST_VERSION + 1);
      expect(peek.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'sessions'").get()).toEqual({ n: 0 });
    } finally {
      peek.close();
    }
  });

  it('migrates an empty database file from version 0, and a version-1 file keeping what it holds', async () => {
    const path = join(freshDir(), 'state.db');
    new Database(path).close();
    const store = await openStore(path);
    await store.createSession(session('s'));
    expect(await store.getSession('s', t0)).not.toBeNull();
    const older = new Database(join(freshDir(), 'state.db'));
    older.exec(`${MIGRATIONS[0]!.sql}; PRAGMA user_version = 1;`);
    older.prepare("INSERT INTO sessions VALUES ('s', 'k', 'u', ?, ?, NULL, 0, NULL)").run(t0, t0);
    older.close();
    const upgraded = await openStore(older.name);
    expect(await upgraded.getSession('s', t0)).toMatchObject({ id: 's', keyId: 'k', lastActivity: t0 });
    expect(await upgraded.credentials.put('operator', 'o', {}, null, t0, audit('o'))).toMatchObject({ ok: true });
  });

  it('turns a write that fails inside a transaction into StoreUnavailableError and rolls all of it back', async () => {
    const path = join(freshDir(), 'state.db');
    const store = await openStore(path);
    await store.createFamily(family('f1'), 'h1');
    await store.credentials.put('key', 'k1', { n: 1 }, null, t0, audit('k1'));
    const credentialState = async () => ({ records: await store.credentials.list(), log: await store.credentials.listAudit({ limit: 10 }) });
    const credentialsBefore = await credentialState();
    let changes = 0;
    store.credentials.onChange(() => changes++);
    // A second connection installs triggers that fail every new refresh token and audit entry, as a full disk would.
    const saboteur = new Database(path);
    saboteur.exec("CREATE TRIGGER no_tokens BEFORE INSERT ON refresh_tokens BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
    saboteur.exec("CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk says no'); END");

    const created = store.createFamily(family('f2'), 'g1');
    await expect(created).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(created).rejects.toThrow(/createFamily.*disk says no/);
    expect(await store.getFamily('f2', t0)).toBeNull();

    // The rotation consumes h1 and updates the family before it inserts h2: both must be undone.
    const next = { refreshExpiresAt: t0 + 90_000, accessExpiresAt: t0 + 40_000 };
    await expect(store.redeemRefreshToken('h1', 'h2', next, t0 + 1000)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.getFamily('f1', t0 + 1000)).toEqual(family('f1'));

    // A credential write changes the record before it appends the audit entry: both must be undone, no one told.
    const update = store.credentials.put('key', 'k1', { n: 2 }, 1, t0 + 1, audit('k1', { action: 'update' }));
    await expect(update).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(update).rejects.toThrow(/putCredential.*disk says no/);
    await expect(store.credentials.remove('key', 'k1', 1, audit('k1', { action: 'delete' }))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.credentials.appendAudit(audit('s1'))).rejects.toThrow(/appendAudit.*disk says no/);
    expect(await credentialState()).toEqual(credentialsBefore);
    await settle();
    expect(changes).toBe(0);

    saboteur.exec('DROP TRIGGER no_tokens; DROP TRIGGER no_audit');
    saboteur.close();
    expect(await store.redeemRefreshToken('h1', 'h2', next, t0 + 1000)).toMatchObject({ status: 'rotated' });
    expect(await store.credentials.put('key', 'k1', { n: 2 }, 1, t0 + 1, audit('k1'))).toMatchObject({ ok: true, record: { version: 2 } });
  });

  it('answers StoreUnavailableError once closed, and a purge then removes nothing instead of throwing', async () => {
    const store = new SqliteStore({ path: join(freshDir(), 'state.db') });
    await store.close();
    await expect(store.getSession('s', t0)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.recordFailure('ip', 1000, t0)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.credentials.put('key', 'k', {}, null, t0, audit('k'))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(store.purgeExpired(t0)).toBe(0);
    await store.close();
  });

  it('keeps records, versions and the audit log across reopening the file, dropping the oldest entries past retention', async () => {
    const path = join(freshDir(), 'state.db');
    const first = (await openStore(path, 5)).credentials;
    await first.put('key', 'k1', { keyHash: 'sha256$x', read: ['a'] }, null, t0, audit('k1'));
    await first.put('key', 'k1', { keyHash: 'sha256$x', read: ['b'] }, 1, t0 + 5, audit('k1', { action: 'update', before: { read: ['a'] } }));
    await first.put('user', 'u1', { login: 'u1' }, null, t0, audit('u1', { grid: 'users' }));
    await first.remove('user', 'u1', 1, audit('u1', { action: 'delete', grid: 'users', after: null }));
    const log = await first.listAudit({ limit: 10 });
    expect(log.map((e) => e.action)).toEqual(['delete', 'create', 'update', 'create']);
    await open.pop()!.close();

    const second = (await openStore(path, 5)).credentials;
    expect(await second.list()).toEqual([{ kind: 'key', id: 'k1', version: 2, createdAt: t0, updatedAt: t0 + 5, data: { keyHash: 'sha256$x', read: ['b'] } }]);
    expect(await second.listAudit({ limit: 10 })).toEqual(log);
    // Versions and seqs go on from where they were; past 5 entries the oldest go, in the transaction that appends.
    expect(await second.put('key', 'k1', {}, 2, t0 + 9, audit('k1'))).toMatchObject({ ok: true, record: { version: 3, createdAt: t0 } });
    for (const target of ['s1', 's2', 's3']) await second.appendAudit(audit(target, { action: 'revoke', grid: 'sessions' }));
    const kept = await second.listAudit({ limit: 100 });
    expect(kept.map((e) => e.target)).toEqual(['s3', 's2', 's1', 'k1', 'u1']);
    expect(kept[4]).toEqual(log[0]);
    const peek = new Database(path, { readonly: true });
    expect(peek.prepare('SELECT count(*) AS n FROM audit').get()).toEqual({ n: 5 });
    peek.close();
  });

  it('lists 10 000 records in one quick read', async () => {
    const path = join(freshDir(), 'state.db');
    const credentials = (await openStore(path)).credentials;
    const writer = new Database(path);
    writer.exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
      INSERT INTO credentials SELECT 'key', 'k' || i, 1, ${t0}, ${t0}, json_object('id', 'k' || i, 'read', json_array('services')) FROM n`);
    writer.close();
    const started = performance.now();
    const records = await credentials.list();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(records).toHaveLength(10_000);
    expect(records.find((r) => r.id === 'k9999')).toEqual({ kind: 'key', id: 'k9999', version: 1, createdAt: t0, updatedAt: t0, data: { id: 'k9999', read: ['services'] } });
  });

  it('still refuses a refresh token for a family without refresh expiry with a TypeError', async () => {
    const store = await openStore(join(freshDir(), 'state.db'));
    await expect(store.createFamily(family('f', { refreshExpiresAt: null }), 'h')).rejects.toThrow(TypeError);
  });
});

describe('the sqlite store section', () => {
  it('takes a path relative to the config file, a 5 s activity write interval, and refuses unknown keys', async () => {
    const base = { upstream: { url: 'demo' }, routes: [{ id: 'home', path: '/', public: true }] };
    const config = await loadConfigText(JSON.stringify({ ...base, store: { type: 'sqlite', path: 'data/state.db' } }), {
      source: 'portcullis.yaml',
      baseDir: join(root, 'etc'),
    });
    expect(config.parsed.store).toMatchObject({ type: 'sqlite', path: join(root, 'etc', 'data', 'state.db'), activityWriteInterval: 5000 });
    expect(config.parsed.store.failOpen.bearerRevocationCheck).toBe(false);

    const absolute = await loadConfigText(JSON.stringify({ ...base, store: { type: 'sqlite', path: join(root, 'x.db') } }), { baseDir: '/elsewhere' });
    expect(absolute.parsed.store).toMatchObject({ path: join(root, 'x.db') });

    await expect(loadConfigText(JSON.stringify({ ...base, store: { type: 'sqlite' } }))).rejects.toThrow(/store\.path/);
    await expect(loadConfigText(JSON.stringify({ ...base, store: { type: 'sqlite', path: 'a.db', maxSessions: 5 } }))).rejects.toThrow(
      /store\.maxSessions: unknown key/,
    );
  });
});
