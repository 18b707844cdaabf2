// The admin API's managed grids on the real admin listener: generated secrets shown once and nowhere else, chosen
// ones never echoed; every validation problem of a body answered at once with its path and nothing written;
// versions as ETags with If-Match (stale, weak, `*`, concurrent writes); config entries read-only; a read token
// refused every change.

import { afterEach, describe, expect, it } from 'vitest';
import { sha256KeyHash } from '../../src/config/secrets.js';
import { hashSecret } from '../../src/secrets/hash.js';
import { SECRETS } from '../fixtures/secrets.js';
import { withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { login } from '../helpers/oauth.js';
import { pcrLoginRequest } from '../helpers/pcr.js';

const MANAGE: string = SECRETS.adminToken;
const VIEWER = 'viewer-read-token-0123456789';

let viewerHash = '';
const t = testProxyForSuite(async () => {
  viewerHash = await hashSecret(VIEWER);
  return withPcr((config) => {
    config['admin'] = { host: '127.0.0.1', port: 0, tokens: [{ name: 'ops', role: 'manage', token: SECRETS.adminTokenHash }, { name: 'viewer', role: 'read', token: viewerHash }] };
  });
});

function admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, token = MANAGE): Promise<Reply> {
  const all: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
  if (body !== undefined) all['content-type'] = 'application/json';
  return send(t.proxy.adminUrl + path, { method, headers: all, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
}

const GRIDS = ['keys', 'users', 'clients', 'operators'] as const;
/** Every grid's listing and the audit log, as text: what an admin can read after a change. */
async function everythingReadable(): Promise<string> {
  const texts: string[] = [];
  for (const grid of GRIDS) texts.push((await admin('GET', `/admin/${grid}`)).text);
  texts.push((await admin('GET', '/admin/audit?limit=500')).text);
  return texts.join('\n');
}

function expectHidden(secret: string, text: string): void {
  expect(text.includes(secret), 'a secret appeared').toBe(false);
  expect(text).not.toMatch(/keyHash|passwordHash|secretHash|sha256\$|scrypt\$/);
}

const created: Array<[string, string]> = [];
async function create(grid: string, body: Record<string, unknown>): Promise<Reply> {
  const reply = await admin('POST', `/admin/${grid}`, body);
  if (reply.status === 201) created.push([grid, String(body['id'] ?? body['login'])]);
  return reply;
}

afterEach(async () => {
  for (const [grid, id] of created.splice(0).reverse()) await admin('DELETE', `/admin/${grid}/${id}?force=true`);
});

describe('secrets are shown once', () => {
  it('a generated key: 43 URL-safe characters (256 bits), in the creation answer only, working at once', async () => {
    const first = await create('keys', { id: 'gen-one', read: ['servicedesk'] });
    const second = await create('keys', { id: 'gen-two', read: ['servicedesk'] });
    expect(first.status, first.text).toBe(201);
    const key = first.json.key as string;
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    expect(second.json.key).not.toBe(key);
    expect((await send(`${t.url}/api/${key}/servicedesk.json`)).status).toBe(200);
    const got = await admin('GET', '/admin/keys/gen-one');
    expect(got.json).toMatchObject({ id: 'gen-one', source: 'managed', version: 1 });
    expect(got.json.key).toBeUndefined();
    const readable = (await everythingReadable()) + got.text;
    for (const secret of [key, second.json.key as string]) {
      expectHidden(secret, readable);
      expectHidden(secret, t.logLines.join('\n'));
      expect(t.logLines.join('\n').includes(sha256KeyHash(secret))).toBe(false);
    }
  });

  it('a generated client secret and operator password work for a login and are shown nowhere else', async () => {
    const client = await create('clients', { id: 'gen-client' });
    const operator = await create('operators', { login: 'gen-operator', apiAccess: true });
    expect([client.status, operator.status]).toEqual([201, 201]);
    const secret = client.json.secret as string;
    const password = operator.json.password as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await login(t.url, { username: 'gen-operator', password }, { id: 'gen-client', secret })).status).toBe(200);
    const readable = (await everythingReadable()) + (await admin('GET', '/admin/clients/gen-client')).text + (await admin('GET', '/admin/operators/gen-operator')).text;
    for (const shown of [secret, password]) {
      expectHidden(shown, readable);
      expectHidden(shown, t.logLines.join('\n'));
    }
  });

  it('a generated user password works for a header login; a chosen password or secret is never echoed', async () => {
    const user = await create('users', { login: 'gen-user', keys: ['demo-rw'] });
    expect(user.status, user.text).toBe(201);
    const password = user.json.password as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await pcrLoginRequest(t.url, SECRETS.rwKey, 'gen-user', { password })).status).toBe(200);
    expectHidden(password, (await everythingReadable()) + t.logLines.join('\n'));

    const chosen = 'chosen-password-0123456789';
    const answers = [
      await create('users', { login: 'chosen-user', password: chosen, keys: ['demo-rw'] }),
      await create('operators', { login: 'chosen-operator', password: chosen, apiAccess: true }),
      await create('clients', { id: 'chosen-client', secret: chosen }),
    ];
    for (const answer of answers) {
      expect(answer.status, answer.text).toBe(201);
      expect(answer.json.password ?? answer.json.secret).toBeUndefined();
      expectHidden(chosen, answer.text);
    }
    expect((await pcrLoginRequest(t.url, SECRETS.rwKey, 'chosen-user', { password: chosen })).status).toBe(200);
    expectHidden(chosen, (await everythingReadable()) + t.logLines.join('\n'));
  });
});

describe('validation', () => {
  async function expectRefused(grid: string, body: unknown, problems: Array<{ path: string; message: string | RegExp }>): Promise<void> {
    const before = [(await admin('GET', `/admin/${grid}`)).text, (await admin('GET', '/admin/audit')).text];
    const reply = await admin('POST', `/admin/${grid}`, body);
    expect(reply.status, reply.text).toBe(400);
    expect(reply.json.error).toBe('invalid_request');
    expect(reply.json.problems).toHaveLength(problems.length);
    expect(reply.json.problems).toEqual(expect.arrayContaining(problems.map(({ path, message }) => ({ path, message: typeof message === 'string' ? message : expect.stringMatching(message) }))));
    expect([(await admin('GET', `/admin/${grid}`)).text, (await admin('GET', '/admin/audit')).text]).toEqual(before);
  }

  it('answers every problem of a key at once, in the config file\'s words, and writes nothing', async () => {
    await expectRefused('keys', { id: 'Bad Id', read: ['nosuch', 'servicedesk'], expiresAt: '2027-13-45', key: 'x', upstreamKey: 'remove', colour: 'red' }, [
      { path: 'id', message: 'expected a lower-case id' },
      { path: 'read[0]', message: 'unknown section "nosuch" (sections: services, equipment, servicedesk, snmp)' },
      { path: 'expiresAt', message: 'expected a date like "2027-12-31" or "2027-12-31T23:59:59Z"' },
      { path: 'key', message: 'the key is generated by the proxy and cannot be set or changed' },
      { path: 'upstreamKey', message: /never sent upstream/ },
      { path: 'colour', message: 'unknown field' },
    ]);
  });

  it('refuses unknown key ids of a user, bad durations of a client and ids already taken', async () => {
    await expectRefused('users', { login: 'new-user', keys: ['demo-rw', 'no-such-key'] }, [{ path: 'keys[1]', message: 'unknown API key id "no-such-key"' }]);
    await expectRefused('clients', { id: 'new-client', accessTokenTtl: 'soon', grants: ['password', 'password'] }, [
      { path: 'accessTokenTtl', message: 'expected a duration like "1h"' },
      { path: 'grants', message: 'grants must not repeat' },
    ]);
    await expectRefused('keys', { id: 'demo-rw' }, [{ path: 'id', message: 'an API key with this id is declared in the config file' }]);
    expect((await create('keys', { id: 'taken' })).status).toBe(201);
    await expectRefused('keys', { id: 'taken' }, [{ path: 'id', message: 'an API key with this id already exists' }]);
    await expectRefused('operators', { login: 'my-operator', apiAccess: true }, [{ path: 'login', message: 'an operator with this login is declared in the config file' }]);
  });

  it('answers a body that is not an object 400, never 500', async () => {
    for (const body of ['[1,2]', '"a key"', '{"id": ', 'null']) {
      for (const grid of GRIDS) {
        const reply = await admin('POST', `/admin/${grid}`, body);
        expect(reply.status, `${grid}: ${body}`).toBe(400);
        expect(reply.json.error).toBe('invalid_request');
      }
    }
    expect((await create('keys', { id: 'target' })).status).toBe(201);
    expect((await admin('PATCH', '/admin/keys/target', '[]')).status).toBe(400);
    expect((await admin('PATCH', '/admin/keys/target', 'nope')).status).toBe(400);
    expect((await admin('GET', '/admin/keys/target')).json.version).toBe(1);
  });

  it('a user can only have its sessionExpiresAt changed; any other field is named', async () => {
    expect((await create('users', { login: 'patched-user', keys: ['demo-rw'] })).status).toBe(201);
    const reply = await admin('PATCH', '/admin/users/patched-user', { keys: ['short'], login: 'renamed', sessionExpiresAt: '2027-01-01' });
    expect(reply.status).toBe(400);
    expect(reply.json.problems).toEqual([
      { path: 'keys', message: 'only sessionExpiresAt can be changed; delete the user and add it again to change anything else' },
      { path: 'login', message: 'the login cannot be changed' },
    ]);
    const after = await admin('GET', '/admin/users/patched-user');
    expect(after.json).toMatchObject({ keys: ['demo-rw'], sessionExpiresAt: null, version: 1 });
  });
});

describe('versions', () => {
  const patch = (body: unknown, ifMatch?: string) => admin('PATCH', '/admin/keys/versioned', body, ifMatch === undefined ? {} : { 'if-match': ifMatch });

  it('answers an ETag on every read and write; If-Match of the current version, a weak tag or * applies the change', async () => {
    const post = await create('keys', { id: 'versioned' });
    expect(post.headers.get('etag')).toBe('"1"');
    expect(post.headers.get('location')).toBe('/admin/keys/versioned');
    expect((await admin('GET', '/admin/keys/versioned')).headers.get('etag')).toBe('"1"');
    const one = await patch({ description: 'one' }, '"1"');
    expect(one.status).toBe(200);
    expect(one.headers.get('etag')).toBe('"2"');
    expect(one.json).toMatchObject({ description: 'one', version: 2 });
    expect((await patch({ description: 'two' }, 'W/"2"')).headers.get('etag')).toBe('"3"');
    expect((await patch({ description: 'three' }, '*')).json.version).toBe(4);
    expect((await patch({ description: 'four' })).json.version).toBe(5);
  });

  it('a stale If-Match is 412 with the current version and changes nothing, for PATCH and DELETE', async () => {
    await create('keys', { id: 'versioned', description: 'kept' });
    await patch({ description: 'kept' }, '"1"');
    for (const reply of [await patch({ description: 'lost' }, '"1"'), await admin('DELETE', '/admin/keys/versioned', undefined, { 'if-match': 'W/"1"' })]) {
      expect(reply.status).toBe(412);
      expect(reply.json).toMatchObject({ error: 'version_mismatch', version: 2 });
      expect(reply.headers.get('etag')).toBe('"2"');
    }
    expect((await admin('GET', '/admin/keys/versioned')).json).toMatchObject({ description: 'kept', version: 2 });
    expect((await admin('DELETE', '/admin/keys/versioned', undefined, { 'if-match': '"2"' })).status).toBe(200);
    created.splice(0);
    expect((await admin('GET', '/admin/keys/versioned')).status).toBe(404);
  });

  it('of two concurrent changes from the same version, exactly one applies', async () => {
    await create('keys', { id: 'versioned' });
    const replies = await Promise.all([patch({ description: 'left' }, '"1"'), patch({ description: 'right' }, '"1"')]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = replies.find((r) => r.status === 200)!;
    expect((await admin('GET', '/admin/keys/versioned')).json).toMatchObject({ description: winner.json.description, version: 2 });
  });
});

describe('config entries and unknown ids', () => {
  it('lists config entries with source config and no version; PATCH and DELETE are 409 declared_in_config', async () => {
    const keys = (await admin('GET', '/admin/keys')).json.keys as Array<Record<string, unknown>>;
    expect(keys.find((k) => k.id === 'demo-rw')).toMatchObject({ source: 'config', version: null });
    const cases: Array<[string, string]> = [['keys', 'demo-rw'], ['users', 'api-user'], ['clients', 'public-api'], ['operators', 'my-operator']];
    for (const [grid, id] of cases) {
      const got = await admin('GET', `/admin/${grid}/${id}`);
      expect(got.json).toMatchObject({ source: 'config', version: null });
      expect(got.headers.get('etag')).toBeNull();
      for (const method of ['PATCH', 'DELETE']) {
        const reply = await admin(method, `/admin/${grid}/${id}`, method === 'PATCH' ? { description: 'x' } : undefined);
        expect(reply.status, `${method} ${grid}/${id}`).toBe(409);
        expect(reply.json.error).toBe('declared_in_config');
      }
    }
  });

  it('answers 404 for an unknown id on GET, PATCH and DELETE', async () => {
    for (const grid of GRIDS) {
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        const reply = await admin(method, `/admin/${grid}/no-such-id`, method === 'PATCH' ? {} : undefined);
        expect(reply.status, `${method} ${grid}`).toBe(404);
        expect(reply.json.error).toBe('not_found');
      }
    }
  });
});

describe('a read token', () => {
  it('reads every grid and the audit log, and is refused every change with 403, writing nothing', async () => {
    await create('keys', { id: 'readable' });
    for (const path of [...GRIDS.map((g) => `/admin/${g}`), '/admin/keys/readable', '/admin/sessions', '/admin/token-families', '/admin/audit']) {
      expect((await admin('GET', path, undefined, {}, VIEWER)).status, path).toBe(200);
    }
    const before = await everythingReadable();
    const changes: Array<[string, string, unknown?]> = [
      ['POST', '/admin/keys', { id: 'by-viewer' }],
      ['POST', '/admin/operators', { login: 'by-viewer', apiAccess: true }],
      ['PATCH', '/admin/keys/readable', { description: 'by viewer' }],
      ['DELETE', '/admin/keys/readable'],
      ['DELETE', '/admin/keys/readable?force=true'],
    ];
    for (const [method, path, body] of changes) {
      const reply = await admin(method, path, body, {}, VIEWER);
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(reply.json.error).toBe('forbidden');
    }
    expect(await everythingReadable()).toEqual(before);
  });
});

describe('listings', () => {
  it('filter, sort and page with q, sort, order, offset and limit, and say how many rows match', async () => {
    for (const n of [3, 1, 2]) expect((await create('keys', { id: `paged-${n}`, description: `Paged key ${n}`, read: n === 2 ? [] : ['servicedesk'] })).status).toBe(201);
    const page = await admin('GET', '/admin/keys?q=paged&sort=id&order=desc&offset=1&limit=1');
    expect(page.status).toBe(200);
    expect(page.json.total).toBe(3);
    expect(page.json.keys.map((k: { id: string }) => k.id)).toEqual(['paged-2']);
    expect((await admin('GET', '/admin/keys?q=PAGED%20KEY%201')).json.keys.map((k: { id: string }) => k.id)).toEqual(['paged-1']);
    const all = await admin('GET', '/admin/keys');
    expect(all.json.total).toBe(all.json.keys.length);
    for (const bad of ['limit=0', 'offset=-1', 'order=sideways']) expect((await admin('GET', `/admin/keys?${bad}`)).status, bad).toBe(400);
  });
});

describe('API access: client credentials, service identity and introspection', () => {
  const SERVICE = { name: 'svc-monitoring', teams: ['noc'], organizations: ['acme'], features: ['dashboard'] };

  it('needs a service identity for client credentials, checked like an operator\'s attributes, and writes nothing otherwise', async () => {
    const refused = async (body: Record<string, unknown>, problems: Array<{ path: string; message: string | RegExp }>) => {
      const reply = await admin('POST', '/admin/clients', { id: 'svc-client', ...body });
      expect(reply.status, reply.text).toBe(400);
      expect(reply.json.problems).toEqual(problems.map(({ path, message }) => ({ path, message: typeof message === 'string' ? message : expect.stringMatching(message) })));
    };
    await refused({ grants: ['client_credentials'] }, [{ path: 'serviceIdentity', message: /^required when grants include client_credentials/ }]);
    await refused({ grants: ['client_credentials'], serviceIdentity: { name: 'svc monitoring', teams: ['a,b'] } }, [
      { path: 'serviceIdentity.name', message: 'expected printable ASCII without spaces' },
      { path: 'serviceIdentity.teams[0]', message: /without commas/ },
    ]);
    await refused({ introspect: 'yes' }, [{ path: 'introspect', message: /expected boolean/ }]);
    expect((await admin('GET', '/admin/clients/svc-client')).status).toBe(404);
  });

  it('shows the service identity and the introspect flag, defaults them off, and keeps the identity while the grant is off', async () => {
    const plain = await create('clients', { id: 'plain-client', secret: 'plain-client-secret' });
    expect(plain.json).toMatchObject({ grants: ['password', 'refresh_token'], serviceIdentity: null, introspect: false });
    const svc = await create('clients', { id: 'svc-client', secret: 'svc-client-secret', grants: ['client_credentials'], serviceIdentity: { name: 'svc-monitoring' }, introspect: true });
    expect(svc.status, svc.text).toBe(201);
    expect(svc.json).toMatchObject({ grants: ['client_credentials'], serviceIdentity: { name: 'svc-monitoring', teams: [], organizations: [], features: [] }, introspect: true });

    const patch = (body: unknown) => admin('PATCH', '/admin/clients/svc-client', body);
    const cleared = await patch({ serviceIdentity: null });
    expect(cleared.status).toBe(400);
    expect(cleared.json.problems).toEqual([{ path: 'serviceIdentity', message: expect.stringMatching(/^required when grants include client_credentials/) }]);
    expect((await patch({ serviceIdentity: SERVICE })).json).toMatchObject({ serviceIdentity: SERVICE, version: 2 });
    expect((await patch({ grants: ['password'] })).json).toMatchObject({ grants: ['password'], serviceIdentity: SERVICE, introspect: true });
    expect((await patch({ introspect: false })).json).toMatchObject({ introspect: false, serviceIdentity: SERVICE });
    expect((await patch({ serviceIdentity: null })).json).toMatchObject({ serviceIdentity: null, version: 5 });

    const sorted = await admin('GET', '/admin/clients?sort=clientCredentials&order=desc');
    expect(sorted.json.clients.map((c: { id: string }) => c.id)).toContain('svc-client');
  });

  it('lists config clients with their flags, and their metadata names every grant a client may use', async () => {
    const declared = await admin('GET', '/admin/clients/public-api');
    expect(declared.json).toMatchObject({ grants: ['password', 'refresh_token'], serviceIdentity: null, introspect: false, source: 'config' });
    const metadata = await send(`${t.url}/.well-known/oauth-authorization-server`);
    expect(metadata.json.grant_types_supported).toEqual(['password', 'refresh_token']);
    await create('clients', { id: 'svc-client', secret: 'svc-client-secret', grants: ['client_credentials'], serviceIdentity: SERVICE });
    // The metadata describes the running config, which now holds a client with client credentials.
    await expect.poll(async () => (await send(`${t.url}/.well-known/oauth-authorization-server`)).json.grant_types_supported).toEqual(['client_credentials', 'password', 'refresh_token']);
  });
});
