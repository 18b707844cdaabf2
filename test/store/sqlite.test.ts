// SqliteStore: the shared conformance suite on a fresh file per test, plus what only a durable store has: data
// that survives closing and reopening the file, the schema version check, files it cannot use, and writes that
// fail half-way without leaving anything half-written.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadConfigText } from '../../src/config-loader.js';
import { createStore } from '../../src/store/factory.js';
import { LATEST_VERSION } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { StoreUnavailableError, type RevocationEvent, type Store } from '../../src/store/store.js';
import { NO_STORE_SECRETS, sqliteStoreSettings } from '../helpers/store-options.js';
import { storeConformanceSuite } from './conformance.js';
import { familyAt, sessionAt, T0 } from './records-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'portcullis-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
/** A new directory for one test's database. */
const freshDir = () => mkdtempSync(join(root, `t${++counter}-`));

const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));

storeConformanceSuite('SqliteStore', async () => {
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
});

describe('SqliteStore specifics', () => {
  const t0 = T0;
  const session = sessionAt;
  const family = familyAt;

  const open: Store[] = [];
  const openStore = async (path: string): Promise<Store> => {
    const store = await createStore(sqliteStoreSettings({ path }), new ManualClock(t0), NO_STORE_SECRETS);
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

  it('migrates an empty database file from version 0', async () => {
    const path = join(freshDir(), 'state.db');
    new Database(path).close();
    const store = await openStore(path);
    await store.createSession(session('s'));
    expect(await store.getSession('s', t0)).not.toBeNull();
  });

  it('turns a write that fails inside a transaction into StoreUnavailableError and rolls all of it back', async () => {
    const path = join(freshDir(), 'state.db');
    const store = await openStore(path);
    await store.createFamily(family('f1'), 'h1');
    // A second connection installs a trigger that fails every new refresh token, as a full disk would.
    const saboteur = new Database(path);
    saboteur.exec("CREATE TRIGGER no_tokens BEFORE INSERT ON refresh_tokens BEGIN SELECT RAISE(ABORT, 'disk says no'); END");

    const created = store.createFamily(family('f2'), 'g1');
    await expect(created).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(created).rejects.toThrow(/createFamily.*disk says no/);
    expect(await store.getFamily('f2', t0)).toBeNull();

    // The rotation consumes h1 and updates the family before it inserts h2: both must be undone.
    const next = { refreshExpiresAt: t0 + 90_000, accessExpiresAt: t0 + 40_000 };
    await expect(store.redeemRefreshToken('h1', 'h2', next, t0 + 1000)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.getFamily('f1', t0 + 1000)).toEqual(family('f1'));

    saboteur.exec('DROP TRIGGER no_tokens');
    saboteur.close();
    expect(await store.redeemRefreshToken('h1', 'h2', next, t0 + 1000)).toMatchObject({ status: 'rotated' });
  });

  it('answers StoreUnavailableError once closed, and a purge then removes nothing instead of throwing', async () => {
    const store = new SqliteStore({ path: join(freshDir(), 'state.db') });
    await store.close();
    await expect(store.getSession('s', t0)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.recordFailure('ip', 1000, t0)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(store.purgeExpired(t0)).toBe(0);
    await store.close();
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
