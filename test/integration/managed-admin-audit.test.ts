// The admin audit log on the real admin listener: every change (create, update, delete, a forced delete that
// ends sessions, ending a key's sessions, revoking a token by value) recorded newest first under the admin
// token's name, without any secret or hash, also logged; paging with `limit` and `before`; and a config file
// that declares an id already managed through the API refused at reload and at start.

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { sha256KeyHash } from '../../src/config/secrets.js';
import { hashSecret } from '../../src/secrets/hash.js';
import { SECRETS } from '../fixtures/secrets.js';
import { loadPcrConfig, withPcr, type ConfigEdit } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { pcrCall, pcrLoginRequest } from '../helpers/pcr.js';
import { startTestProxy } from '../helpers/proxy.js';

const ALICE: string = SECRETS.adminToken;
const BOB = 'bob-manage-token-0123456789';
const USER_PASSWORD = 'audited-user-password';
let bobHash = '';

const adminSection = () => ({
  host: '127.0.0.1',
  port: 0,
  tokens: [
    { name: 'alice', role: 'manage', token: SECRETS.adminTokenHash },
    { name: 'bob', role: 'manage', token: bobHash },
  ],
});

const t = testProxyForSuite(async () => {
  bobHash = await hashSecret(BOB);
  return withPcr((config) => (config['admin'] = adminSection()));
});

function admin(token: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return send(t.proxy.adminUrl + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

interface Entry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  grid: string;
  target: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  detail?: Record<string, unknown>;
}

async function allEntries(): Promise<Entry[]> {
  const reply = await admin(ALICE, 'GET', '/admin/audit?limit=500');
  expect(reply.status).toBe(200);
  return reply.json.entries as Entry[];
}

/** A header login of the audited user on `key`; the session token. */
async function sessionOn(key: string): Promise<string> {
  const reply = await pcrLoginRequest(t.url, key, 'audited-user', { password: USER_PASSWORD });
  expect(reply.status, reply.text).toBe(200);
  return reply.json.token as string;
}

describe('the audit log', () => {
  it('records every change newest first, under the name of the token that made it, and logs each', async () => {
    const start = Math.max(0, ...(await allEntries()).map((e) => e.seq));
    const times: number[] = [];
    const step = async (reply: Promise<Reply>, status = 200) => {
      times.push(t.clock.now());
      const answer = await reply;
      expect(answer.status, answer.text).toBe(status);
      t.clock.advance(1000);
      return answer;
    };
    const key = (await step(admin(ALICE, 'POST', '/admin/keys', { id: 'audited', read: ['servicedesk'], tokenAuth: true }), 201)).json.key as string;
    await step(admin(BOB, 'PATCH', '/admin/keys/audited', { description: 'changed by bob' }));
    await step(admin(ALICE, 'POST', '/admin/users', { login: 'audited-user', password: USER_PASSWORD, keys: ['audited'] }), 201);
    await sessionOn(key);
    expect((await step(admin(BOB, 'DELETE', '/admin/sessions?keyId=audited'))).json.revoked).toHaveLength(1);
    const token = await sessionOn(key);
    await step(admin(ALICE, 'POST', '/admin/revoke', { token }));
    expect((await pcrCall(t.url, key, token)).status).toBe(401);
    await sessionOn(key);
    expect((await admin(BOB, 'DELETE', '/admin/keys/audited')).status).toBe(409);
    expect((await step(admin(BOB, 'DELETE', '/admin/keys/audited?force=true'))).json).toEqual({ deleted: 'audited', sessionsEnded: 1 });
    await step(admin(ALICE, 'DELETE', '/admin/users/audited-user'));

    const entries = (await allEntries()).filter((e) => e.seq > start);
    expect(entries.map((e) => [e.actor, e.action, e.grid, e.target])).toEqual([
      ['alice', 'delete', 'users', 'audited-user'],
      ['bob', 'revoke', 'keys', 'audited'],
      ['bob', 'delete', 'keys', 'audited'],
      ['alice', 'revoke', 'sessions', expect.any(String)],
      ['bob', 'revoke', 'sessions', 'key:audited'],
      ['alice', 'create', 'users', 'audited-user'],
      ['bob', 'update', 'keys', 'audited'],
      ['alice', 'create', 'keys', 'audited'],
    ]);
    expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => b - a));
    const [deletedAt, ...earlier] = [...times].reverse();
    expect(entries.map((e) => Date.parse(e.at))).toEqual([deletedAt, earlier[0], ...earlier]);
    const [userDeleted, revoked, keyDeleted, , keySessions, userCreated, updated, keyCreated] = entries;
    expect(keyCreated).toMatchObject({ before: null, after: { id: 'audited', description: '', read: ['servicedesk'], tokenAuth: true } });
    expect(updated).toMatchObject({ before: { description: '' }, after: { description: 'changed by bob' } });
    expect(userCreated).toMatchObject({ before: null, after: { login: 'audited-user', keys: ['audited'] } });
    expect(keySessions!.detail).toEqual({ keyId: 'audited', sessionsEnded: 1 });
    expect(keyDeleted).toMatchObject({ before: { id: 'audited', description: 'changed by bob' }, after: null, detail: { force: true } });
    expect(revoked).toMatchObject({ before: null, after: null, detail: { sessionsEnded: 1 } });
    expect(userDeleted).toMatchObject({ before: { login: 'audited-user' }, after: null });

    const text = JSON.stringify(entries);
    for (const secret of [key, sha256KeyHash(key), USER_PASSWORD, ALICE, BOB, token]) expect(text.includes(secret)).toBe(false);
    expect(text).not.toMatch(/keyHash|passwordHash|secretHash|sha256\$|scrypt\$/);

    const logged = t.logLines.map((line) => JSON.parse(line) as { audit?: Record<string, unknown> }).flatMap((line) => (line.audit ? [line.audit] : []));
    for (const { seq: _seq, at, ...entry } of entries) expect(logged, `${entry.action} ${entry.target}`).toContainEqual({ ...entry, at: Date.parse(at) });
    const log = t.logLines.join('\n');
    for (const secret of [key, sha256KeyHash(key), USER_PASSWORD, BOB]) expect(log.includes(secret)).toBe(false);
  });

  it('walks every entry once through the next links, and refuses a bad limit or before', async () => {
    for (let i = 0; i < 4; i++) {
      expect((await admin(i % 2 ? ALICE : BOB, 'POST', '/admin/keys', { id: `paged-${i}` })).status).toBe(201);
      expect((await admin(ALICE, 'DELETE', `/admin/keys/paged-${i}`)).status).toBe(200);
    }
    const all = await allEntries();
    expect(all.length).toBeGreaterThanOrEqual(8);
    const walked: number[] = [];
    let next: string | null = '/admin/audit?limit=3';
    let pages = 0;
    while (next !== null) {
      const page = await admin(BOB, 'GET', next);
      expect(page.status).toBe(200);
      const entries = page.json.entries as Entry[];
      expect(entries.length).toBeLessThanOrEqual(3);
      walked.push(...entries.map((e) => e.seq));
      next = page.json.next as string | null;
      expect(++pages).toBeLessThan(100);
    }
    expect(walked).toEqual(all.map((e) => e.seq));
    expect(new Set(walked).size).toBe(walked.length);
    const newest = all[0]!.seq;
    expect(((await admin(ALICE, 'GET', `/admin/audit?before=${newest}&limit=2`)).json.entries as Entry[]).map((e) => e.seq)).toEqual(all.slice(1, 3).map((e) => e.seq));

    for (const query of ['limit=0', 'limit=501', 'limit=abc', 'limit=1.5', 'limit=-1', 'before=0', 'before=x', 'before=-3', 'before=2.5']) {
      const reply = await admin(ALICE, 'GET', `/admin/audit?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.json.error).toBe('invalid_request');
    }
  });
});

describe('a config file that declares a managed id', () => {
  const CONFIG_KEY = 'clash-config-key-0123456789';
  const declaringClash: ConfigEdit = (config) => {
    config['admin'] = adminSection();
    const pcr = config['pcr'] as { keys: unknown[] };
    pcr.keys.push({ id: 'clash', key: sha256KeyHash(CONFIG_KEY), read: ['servicedesk'] });
    (config['routes'] as unknown[]).push({ id: 'docs', path: '/docs/**', public: true });
  };
  const clashProblem = 'pcr.keys: "clash" is declared in the config file and also managed through the admin API; delete one of the two';

  it('is refused at reload: the running config stays and the managed key keeps working', async () => {
    const created = await admin(ALICE, 'POST', '/admin/keys', { id: 'clash', read: ['servicedesk'] });
    expect(created.status, created.text).toBe(201);
    const key = created.json.key as string;
    expect((await send(`${t.url}/api/${key}/servicedesk.json`)).status).toBe(200);

    const error = await t.proxy.reload(await loadPcrConfig(t.upstream.url, declaringClash)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([clashProblem]);

    expect((await send(`${t.url}/api/${key}/servicedesk.json`)).status).toBe(200);
    expect((await send(`${t.url}/api/${CONFIG_KEY}/servicedesk.json`)).status).not.toBe(200);
    expect((await send(`${t.url}/docs/readme`)).status).toBe(404);
    expect((await admin(BOB, 'GET', '/admin/keys/clash')).json).toMatchObject({ id: 'clash', source: 'managed', version: 1 });
    expect((await send(`${t.url}/api/${SECRETS.roKey}/servicedesk.json`)).status).toBe(200);
  });

  it('is refused at start, against the same store', async () => {
    if ((await admin(ALICE, 'GET', '/admin/keys/clash')).status === 404) expect((await admin(ALICE, 'POST', '/admin/keys', { id: 'clash' })).status).toBe(201);
    const error = await startTestProxy({ ...withPcr(declaringClash), store: t.proxy.services.store, upstream: t.upstream }).then(
      async (started) => {
        await started.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([clashProblem]);
    expect((await admin(ALICE, 'GET', '/admin/keys/clash')).status).toBe(200);
  });
});
