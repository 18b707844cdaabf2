// The managed grids' rules without a proxy: which If-Match headers allow a write, and how each grid's create and
// update turn a request body into a stored record — null clearing expiry and session limits, bare dates lasting
// through their day (UTC), durations, repeated grants, generated secrets, and passwords stored only as hashes
// (a ready hash as given).

import { beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/load.js';
import { sha256KeyHash } from '../../src/config/secrets.js';
import { dataOf } from '../../src/credentials/records.js';
import type { GridDefinition, GridInput, Outcome } from '../../src/admin/managed/definition.js';
import { clientsGrid } from '../../src/admin/managed/clients.js';
import { ifMatchAllows } from '../../src/admin/managed/if-match.js';
import { keysGrid } from '../../src/admin/managed/keys.js';
import { operatorsGrid } from '../../src/admin/managed/operators.js';
import { usersGrid } from '../../src/admin/managed/users.js';
import { parseSecretHash, verifySecret } from '../../src/secrets/hash.js';
import type { CredentialKind } from '../../src/store/credentials.js';
import { SECRETS } from '../fixtures/secrets.js';
import { FROZEN_EPOCH, loadPcrConfig } from '../helpers/fixtures.js';

let input: GridInput;
beforeAll(async () => {
  const config: Config = await loadPcrConfig('http://127.0.0.1:9');
  const keyIds = new Set(config.apiKeys.map((k) => k.id));
  input = { parsed: config.parsed, keyExists: (id) => keyIds.has(id), now: FROZEN_EPOCH };
});

function ok<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new Error(`refused: ${JSON.stringify(outcome.problems)}`);
  return outcome.value;
}

function problems<T>(outcome: Outcome<T>): Array<{ path: string; message: string }> {
  expect(outcome.ok, 'the body was accepted').toBe(false);
  return outcome.ok ? [] : outcome.problems;
}

async function created<K extends CredentialKind>(grid: GridDefinition<K>, body: Record<string, unknown>) {
  return ok(await grid.create(body, input));
}

async function matches(password: string, stored: string): Promise<boolean> {
  const parsed = parseSecretHash(stored);
  expect(parsed, `not a scrypt hash: ${stored.slice(0, 7)}`).not.toBeNull();
  return verifySecret(password, parsed!);
}

describe('ifMatchAllows', () => {
  it('allows any write without the header, and with * alone or in a list', () => {
    expect(ifMatchAllows(undefined, 7)).toBe(true);
    expect(ifMatchAllows('*', 7)).toBe(true);
    expect(ifMatchAllows(' * ', 7)).toBe(true);
    expect(ifMatchAllows('"1", *', 7)).toBe(true);
  });

  it('matches a quoted, a weak or a bare version, and any tag of a list', () => {
    for (const header of ['"3"', 'W/"3"', '3', ' "3" ', '"1", "3"', 'W/"2",W/"3"', '"9" , 3']) expect(ifMatchAllows(header, 3), header).toBe(true);
  });

  it('refuses other versions', () => {
    for (const header of ['"2"', 'W/"4"', '4', '"1", "2"', '"30"', '"03"', '03']) expect(ifMatchAllows(header, 3), header).toBe(false);
  });

  it('refuses garbage, an empty header and the quoted star', () => {
    for (const header of ['', ' ', 'abc', '"abc"', '"3', '3"', '"3"x', 'w/"3"', '"*"', '3.0', '-3', '1e3', '"1234567890123456"', ',,']) {
      expect(ifMatchAllows(header, 3), JSON.stringify(header)).toBe(false);
    }
  });
});

describe('API keys', () => {
  it('generates the key and stores only its SHA-256 hash', async () => {
    const key = await created(keysGrid, { id: 'k1', read: ['servicedesk'] });
    expect(key.shown.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.data.keyHash).toBe(sha256KeyHash(key.shown.key!));
    expect(JSON.stringify(key.data).includes(key.shown.key!)).toBe(false);
    expect(key.data).toMatchObject({ description: '', read: ['servicedesk'], write: [], expiresAt: null, tokenAuth: false, sessions: null });
    expect((await created(keysGrid, { id: 'k2' })).shown.key).not.toBe(key.shown.key);
  });

  it('reads a bare expiry date as the whole of that day, UTC, and a full one as given', async () => {
    expect((await created(keysGrid, { id: 'k1', expiresAt: '2027-12-31' })).data.expiresAt).toBe(Date.UTC(2028, 0, 1));
    expect((await created(keysGrid, { id: 'k1', expiresAt: '2027-12-31T10:00:00+02:00' })).data.expiresAt).toBe(Date.UTC(2027, 11, 31, 8));
    const view = keysGrid.view('k1', (await created(keysGrid, { id: 'k1', expiresAt: '2026-01-14' })).data, FROZEN_EPOCH);
    expect(view).toMatchObject({ expiresAt: '2026-01-15T00:00:00.000Z', expired: true });
  });

  it('clears the expiry and the session limits with null, and keeps what a PATCH does not name', async () => {
    const { data } = await created(keysGrid, { id: 'k1', description: 'd', expiresAt: '2027-01-01', sessions: { lifetimeSeconds: 60 }, tokenAuth: true });
    const cleared = ok(await keysGrid.update({ expiresAt: null, sessions: null }, data, input));
    expect(cleared).toEqual({ ...data, expiresAt: null, sessions: null });
    const changed = ok(await keysGrid.update({ sessions: { activitySeconds: 30 }, expiresAt: '2027-06-30' }, cleared, input));
    expect(changed).toMatchObject({ sessions: { activitySeconds: 30 }, expiresAt: Date.UTC(2027, 6, 1), description: 'd', tokenAuth: true, keyHash: data.keyHash });
    expect(ok(await keysGrid.update({}, changed, input))).toEqual(changed);
  });

  it('refuses to set the key, an upstream key or the id on update, with every other problem', async () => {
    const { data } = await created(keysGrid, { id: 'k1' });
    const found = problems(await keysGrid.update({ id: 'k2', key: 'x', upstreamKey: 'remove', read: ['nosuch', 'Bad'], sessions: { lifetimeSeconds: -1 }, extra: 1 }, data, input));
    expect(found.map((p) => p.path).sort()).toEqual(['extra', 'id', 'key', 'read[0]', 'read[1]', 'sessions.lifetimeSeconds', 'upstreamKey']);
    expect(found).toContainEqual({ path: 'read[1]', message: 'expected a lower-case section id' });
    expect(found).toContainEqual({ path: 'id', message: 'the id cannot be changed' });
  });
});

describe('API users', () => {
  it('reads a bare sessionExpiresAt as the whole of that day, on create and update; null clears it', async () => {
    const user = await created(usersGrid, { login: 'u1', password: 'a-long-password', keys: ['demo-rw', 'demo-rw', 'short'], sessionExpiresAt: '2026-06-30' });
    expect(user.data.sessionExpiresAt).toBe(Date.UTC(2026, 6, 1));
    expect(user.data.keys).toEqual(['demo-rw', 'short']);
    expect(ok(await usersGrid.update({ sessionExpiresAt: '2026-02-01' }, user.data, input)).sessionExpiresAt).toBe(Date.UTC(2026, 1, 2));
    expect(ok(await usersGrid.update({ sessionExpiresAt: null }, user.data, input))).toEqual({ ...user.data, sessionExpiresAt: null });
    expect(problems(await usersGrid.update({ sessionExpiresAt: '31/12/2026' }, user.data, input))).toEqual([
      { path: 'sessionExpiresAt', message: 'expected a date like "2027-12-31" or "2027-12-31T23:59:59Z"' },
    ]);
  });

  it('hashes a plain password, stores a scrypt hash as given, and shows only a generated one', async () => {
    const plain = await created(usersGrid, { login: 'u1', password: 'a-long-password', keys: ['demo-rw'] });
    expect(plain.data.passwordHash).not.toContain('a-long-password');
    expect(await matches('a-long-password', plain.data.passwordHash)).toBe(true);
    expect(plain.shown).toEqual({});
    const given = await created(usersGrid, { login: 'u2', password: SECRETS.apiUserPasswordHash, keys: ['demo-rw'] });
    expect(given.data.passwordHash).toBe(SECRETS.apiUserPasswordHash);
    expect(given.shown).toEqual({});
    const generated = await created(usersGrid, { login: 'u3', keys: ['demo-rw'] });
    expect(generated.shown.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await matches(generated.shown.password!, generated.data.passwordHash)).toBe(true);
  });

  it('refuses unknown keys, an empty key list, a short password and every field but the date on update', async () => {
    expect(problems(await usersGrid.create({ login: 'u1', keys: ['demo-rw', 'nope'], password: 'short' }, input))).toEqual(
      expect.arrayContaining([
        { path: 'keys[1]', message: 'unknown API key id "nope"' },
        { path: 'password', message: 'expected at least 8 characters' },
      ]),
    );
    expect(problems(await usersGrid.create({ login: 'u1', keys: [] }, input))).toEqual([{ path: 'keys', message: 'expected at least one API key id' }]);
    const { data } = await created(usersGrid, { login: 'u1', keys: ['demo-rw'] });
    expect(problems(await usersGrid.update({ password: 'another-password' }, data, input)).map((p) => p.path)).toEqual(['password']);
  });
});

describe('OAuth clients', () => {
  it('reads durations like "1h30m", defaults to 1h, 8h and both grants, and shows them in the config notation', async () => {
    const client = await created(clientsGrid, { id: 'c1', accessTokenTtl: '1h30m', refreshTokenTtl: '2d12h' });
    expect(client.data).toMatchObject({ accessTokenTtl: 5_400_000, refreshTokenTtl: 216_000_000, grants: ['password', 'refresh_token'] });
    expect(clientsGrid.view('c1', client.data, FROZEN_EPOCH)).toMatchObject({ accessTokenTtl: '1h30m', refreshTokenTtl: '2d12h' });
    expect((await created(clientsGrid, { id: 'c2' })).data).toMatchObject({ accessTokenTtl: 3_600_000, refreshTokenTtl: 28_800_000 });
    expect(ok(await clientsGrid.update({ refreshTokenTtl: '45m' }, client.data, input)).refreshTokenTtl).toBe(2_700_000);
  });

  it('refuses repeated grants, bad durations and a scope, on create and update', async () => {
    expect(problems(await clientsGrid.create({ id: 'c1', grants: ['refresh_token', 'refresh_token'], accessTokenTtl: '30m1h', scope: 'x' }, input))).toEqual(
      expect.arrayContaining([
        { path: 'grants', message: 'grants must not repeat' },
        { path: 'accessTokenTtl', message: 'expected a duration like "1h"' },
        { path: 'scope', message: expect.stringContaining('cannot be set per client') },
      ]),
    );
    const { data } = await created(clientsGrid, { id: 'c1' });
    expect(problems(await clientsGrid.update({ grants: ['password', 'password'] }, data, input))).toEqual([{ path: 'grants', message: 'grants must not repeat' }]);
    expect(problems(await clientsGrid.update({ grants: [] }, data, input)).map((p) => p.path)).toEqual(['grants']);
  });

  it('hashes a new secret on update and stores a given hash as it is', async () => {
    const client = await created(clientsGrid, { id: 'c1', secret: SECRETS.clientSecretHash });
    expect(client.data.secretHash).toBe(SECRETS.clientSecretHash);
    const next = ok(await clientsGrid.update({ secret: 'a-new-client-secret' }, client.data, input));
    expect(next.secretHash).not.toContain('a-new-client-secret');
    expect(await matches('a-new-client-secret', next.secretHash)).toBe(true);
  });

  it('refuses lifetimes of zero, which would issue tokens that are dead on arrival', async () => {
    const outcome = await clientsGrid.create({ id: 'c1', secret: SECRETS.clientSecretHash, accessTokenTtl: '0', refreshTokenTtl: '0s' }, input);
    expect(problems(outcome).map((p) => p.path)).toEqual(['accessTokenTtl', 'refreshTokenTtl']);
    const { data } = await created(clientsGrid, { id: 'c2', secret: SECRETS.clientSecretHash });
    expect(problems(await clientsGrid.update({ accessTokenTtl: '0m' }, data, input)).map((p) => p.path)).toEqual(['accessTokenTtl']);
    // Whatever is accepted can be read back from the store.
    const accepted = await created(clientsGrid, { id: 'c3', secret: SECRETS.clientSecretHash, accessTokenTtl: '1s' });
    expect(dataOf('client', { kind: 'client', id: 'c3', version: 1, createdAt: 0, updatedAt: 0, data: accepted.data })).not.toBeNull();
  });
});

describe('operators', () => {
  it('stores a scrypt hash as given, hashes a plain password, and changes teams without touching the password', async () => {
    const given = await created(operatorsGrid, { login: 'o1', password: SECRETS.operatorPasswordHash, apiAccess: true, teams: ['a'] });
    expect(given.data).toEqual({ passwordHash: SECRETS.operatorPasswordHash, apiAccess: true, teams: ['a'], organizations: [], features: [] });
    expect(given.shown).toEqual({});
    const changed = ok(await operatorsGrid.update({ teams: ['b', 'c'], apiAccess: false }, given.data, input));
    expect(changed).toEqual({ ...given.data, teams: ['b', 'c'], apiAccess: false });
    const rehashed = ok(await operatorsGrid.update({ password: 'operator-password-2' }, changed, input));
    expect(rehashed.passwordHash).not.toBe(SECRETS.operatorPasswordHash);
    expect(await matches('operator-password-2', rehashed.passwordHash)).toBe(true);
  });

  it('refuses a changed login, a team with a comma and an unknown field', async () => {
    const { data } = await created(operatorsGrid, { login: 'o1', apiAccess: true });
    const found = problems(await operatorsGrid.update({ login: 'o2', teams: ['a,b'], role: 'x' }, data, input));
    expect(found.map((p) => p.path).sort()).toEqual(['login', 'role', 'teams[0]']);
    expect(problems(await operatorsGrid.create({ login: 'has space' }, input)).map((p) => p.path).sort()).toEqual(['apiAccess', 'login']);
  });
});
