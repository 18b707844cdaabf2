// Several named admin tokens, each `read` or `manage`: what each role may do on the real admin listener, that
// every refusal is the same 401 as with one token, that handlers learn who called, that a reload re-roles a
// token, and the config problems (names, secrets, the one-token form) reported with their paths.

import express from 'express';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforceAdminRole, requireAdminToken, type AdminCredential } from '../../src/admin/auth.js';
import { ConfigError } from '../../src/config/load.js';
import { loadConfigText } from '../../src/config-loader.js';
import { hashSecret, parseSecretHash } from '../../src/secrets/hash.js';
import { SecretVerifier } from '../../src/secrets/verifier.js';
import { SECRETS } from '../fixtures/secrets.js';
import { baseConfig, loadTestConfig, PCR_ENV, withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { claimsOf } from '../helpers/jwt.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { login } from '../helpers/oauth.js';
import { pcrCall, pcrLogin } from '../helpers/pcr.js';
import { rawRequest } from '../helpers/raw-http.js';

const VIEWER = 'viewer-token-0123456789';
const AUDITOR = 'auditor-token-0123456789';
const OPS: string = SECRETS.adminToken;
let viewerHash = '';

/** The admin section under test: a read token as a literal hash, a read token from env, a manage token. */
function adminSection(viewerRole: 'read' | 'manage' = 'read'): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: 0,
    tokens: [
      { name: 'viewer', role: viewerRole, token: viewerHash },
      { name: 'auditor', role: 'read', token: { env: 'ADMIN_AUDITOR_TOKEN' } },
      { name: 'ops', role: 'manage', token: SECRETS.adminTokenHash },
    ],
  };
}

const t = testProxyForSuite(async () => {
  viewerHash = await hashSecret(VIEWER);
  const pcr = withPcr((config) => {
    config['admin'] = adminSection();
  });
  return { ...pcr, env: { ...pcr.env, ADMIN_AUDITOR_TOKEN: AUDITOR } };
});

resetBeforeEachTest(t);

function admin(method: string, path: string, token: string | null, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return send(t.proxy.adminUrl + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

function expectNoSecretsIn(text: string): void {
  for (const secret of [VIEWER, AUDITOR, OPS]) expect(text.includes(secret), 'an admin token appeared in an answer').toBe(false);
  expect(text).not.toMatch(/scrypt\$|sha256\$/);
}

async function openSession(): Promise<{ token: string; sid: string }> {
  const token = await pcrLogin(t.url, SECRETS.rwKey, 'api-user');
  return { token, sid: claimsOf(token)['sid'] as string };
}

async function oauthFamily(): Promise<{ access: string; family: string }> {
  const answer = await login(t.url);
  expect(answer.status).toBe(200);
  const access = answer.body['access_token'] as string;
  return { access, family: claimsOf(access)['fid'] as string };
}

const READS = ['/admin/keys', '/admin/users', '/admin/sessions', '/admin/token-families'];

describe('a read token', () => {
  it('lists every grid, with GET and HEAD', async () => {
    for (const token of [VIEWER, AUDITOR]) {
      for (const path of READS) {
        const reply = await admin('GET', path, token);
        expect(reply.status, `GET ${path}`).toBe(200);
        expect(reply.headers.get('cache-control')).toBe('no-store');
        expectNoSecretsIn(reply.text);
      }
      expect((await admin('HEAD', '/admin/keys', token)).status).toBe(200);
    }
    const keys = await admin('GET', '/admin/keys', VIEWER);
    expect((keys.json.keys as Array<{ id: string }>).map((k) => k.id)).toContain('demo-rw');
  });

  it('is refused every change with 403, naming the token, and nothing is revoked', async () => {
    const session = await openSession();
    const oauth = await oauthFamily();
    const changes: Array<[string, string, unknown?]> = [
      ['DELETE', `/admin/sessions/${session.sid}`],
      ['DELETE', '/admin/sessions?keyId=demo-rw'],
      ['DELETE', '/admin/users/api-user/sessions'],
      ['DELETE', `/admin/token-families/${oauth.family}`],
      ['DELETE', '/admin/token-families?clientId=public-api'],
      ['POST', '/admin/revoke', { token: session.token }],
      ['PUT', '/admin/keys'],
      ['PATCH', '/admin/keys'],
      ['POST', '/admin/no-such-endpoint'],
    ];
    for (const [token, name] of [
      [VIEWER, 'viewer'],
      [AUDITOR, 'auditor'],
    ] as const) {
      for (const [method, path, body] of changes) {
        const reply = await admin(method, path, token, body);
        expect(reply.status, `${name}: ${method} ${path}`).toBe(403);
        expect(reply.json).toEqual({ error: 'forbidden', error_description: `the admin token "${name}" may only read` });
        expect(reply.headers.get('www-authenticate')).toBeNull();
        expectNoSecretsIn(reply.text);
      }
    }
    expect((await pcrCall(t.url, SECRETS.rwKey, session.token)).status).toBe(200);
    const families = await admin('GET', '/admin/token-families?clientId=public-api', VIEWER);
    expect((families.json.families as Array<{ id: string; revokedAt: string | null }>).find((f) => f.id === oauth.family)?.revokedAt).toBeNull();
  });
});

describe('a manage token', () => {
  it('ends a session and revokes a token family', async () => {
    const session = await openSession();
    const ended = await admin('DELETE', `/admin/sessions/${session.sid}`, OPS);
    expect(ended.status).toBe(200);
    expect(ended.json).toEqual({ revoked: [session.sid] });
    expect((await pcrCall(t.url, SECRETS.rwKey, session.token)).status).toBe(401);

    const oauth = await oauthFamily();
    const revoked = await admin('DELETE', `/admin/token-families/${oauth.family}`, OPS);
    expect(revoked.status).toBe(200);
    expect(revoked.json).toEqual({ revoked: [oauth.family] });
    expect((await send(`${t.url}/api/dashboard`, { headers: { authorization: `Bearer ${oauth.access}` } })).status).toBe(401);
  });

  it('revokes by value with POST and reads like a read token', async () => {
    const session = await openSession();
    const reply = await admin('POST', '/admin/revoke', OPS, { token: session.token });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ revoked: { session: session.sid } });
    for (const path of READS) expect((await admin('GET', path, OPS)).status, path).toBe(200);
  });
});

describe('refusals', () => {
  it('answers an unknown, a near or a missing token 401, for reads and changes alike', async () => {
    const attempts: Array<[string, string | null]> = [
      ['none', null],
      ['unknown', 'not-an-admin-token'],
      ['a read token with a trailing character', `${VIEWER}x`],
      ['the manage token cut short', OPS.slice(0, -1)],
      ['an API key', SECRETS.rwKey],
    ];
    for (const [what, token] of attempts) {
      for (const [method, path] of [
        ['GET', '/admin/keys'],
        ['DELETE', '/admin/sessions?keyId=demo-rw'],
        ['POST', '/admin/revoke'],
      ] as const) {
        const reply = await admin(method, path, token);
        expect(reply.status, `${what}: ${method} ${path}`).toBe(401);
        expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="portcullis-admin"');
        expect(reply.json).toEqual({ error: 'unauthorized', error_description: 'a valid admin token is required' });
      }
    }
  });

  it('refuses two Authorization headers, whichever tokens they hold', async () => {
    const port = Number(new URL(t.proxy.adminUrl).port);
    for (const [first, second] of [
      [VIEWER, OPS],
      [OPS, OPS],
      [VIEWER, VIEWER],
    ]) {
      const reply = await rawRequest(
        port,
        `GET /admin/keys HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer ${first}\r\nAuthorization: Bearer ${second}\r\nConnection: close\r\n\r\n`,
      );
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="portcullis-admin"');
      expect(reply.body).not.toContain('demo-rw');
    }
  });

  it('never logs an admin token or its hash', () => {
    const log = t.logLines.join('\n');
    expectNoSecretsIn(log);
    expect(log.includes(viewerHash)).toBe(false);
  });
});

describe('reload', () => {
  it('applies a changed role to the next request', async () => {
    const session = await openSession();
    expect((await admin('DELETE', `/admin/sessions/${session.sid}`, VIEWER)).status).toBe(403);
    const env = { ...PCR_ENV, ADMIN_AUDITOR_TOKEN: AUDITOR };
    const promoted = await loadTestConfig(withConfig((config) => (config['admin'] = adminSection('manage'))), env);
    try {
      await t.proxy.reload(promoted);
      expect((await admin('DELETE', `/admin/sessions/${session.sid}`, VIEWER)).status).toBe(200);
    } finally {
      await t.proxy.reload(await loadTestConfig(withConfig((config) => (config['admin'] = adminSection('read'))), env));
    }
    expect((await admin('DELETE', '/admin/sessions?keyId=demo-rw', VIEWER)).status).toBe(403);
  });
});

/** The suite's raw config (base plus PCR), changed by `edit`. */
function withConfig(edit: (config: Record<string, unknown>) => void): Record<string, unknown> {
  const raw = baseConfig(t.upstream.url);
  withPcr().edit(raw);
  edit(raw);
  return raw;
}

describe('the identity handlers see', () => {
  let url = '';
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const credential = (name: string, role: 'read' | 'manage', hash: string): AdminCredential => ({ name, role, secret: { text: hash, parsed: parseSecretHash(hash)! } });
    const tokens = [credential('viewer', 'read', await hashSecret(VIEWER)), credential('ops', 'manage', SECRETS.adminTokenHash)];
    const app = express();
    app.use(requireAdminToken(() => tokens, new SecretVerifier()));
    app.use(enforceAdminRole);
    app.all('/whoami', (_req, res) => {
      res.json({ admin: res.locals.admin });
    });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });

  afterAll(() => close());

  it('is the token name and role, never the token or its hash', async () => {
    const viewer = await send(`${url}/whoami`, { headers: { authorization: `Bearer ${VIEWER}` } });
    expect(viewer.json).toEqual({ admin: { name: 'viewer', role: 'read' } });
    const ops = await send(`${url}/whoami`, { method: 'DELETE', headers: { authorization: `Bearer ${OPS}` } });
    expect(ops.json).toEqual({ admin: { name: 'ops', role: 'manage' } });
    expect((await send(`${url}/whoami`, { method: 'DELETE', headers: { authorization: `Bearer ${VIEWER}` } })).status).toBe(403);
  });
});

describe('config', () => {
  async function problemsOf(admin: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
    const raw = baseConfig('http://127.0.0.1:9');
    raw['admin'] = { host: '127.0.0.1', port: 0, ...admin };
    const error = await loadTestConfig(raw, env).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error, 'the config was accepted').toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }

  it('keeps admin.token as the manage token named "admin", before the named ones', async () => {
    const raw = baseConfig('http://127.0.0.1:9');
    raw['admin'] = { token: SECRETS.adminTokenHash, tokens: [{ name: 'viewer', role: 'read', token: { env: 'VIEWER' } }] };
    const config = await loadTestConfig(raw, { VIEWER });
    expect(config.adminTokens.map(({ name, role }) => ({ name, role }))).toEqual([
      { name: 'admin', role: 'manage' },
      { name: 'viewer', role: 'read' },
    ]);
    expect(config.adminTokens[0]!.secret.text).toBe(SECRETS.adminTokenHash);
    const none = await loadTestConfig({ ...baseConfig('http://127.0.0.1:9'), admin: {} });
    expect(none.adminTokens).toEqual([]);
  });

  it('refuses duplicate names', async () => {
    expect(
      await problemsOf({
        tokens: [
          { name: 'ops', role: 'manage', token: SECRETS.adminTokenHash },
          { name: 'ops', role: 'read', token: SECRETS.clientSecretHash },
        ],
      }),
    ).toEqual(['admin.tokens[1].name: admin token names must be unique']);
  });

  it('refuses a token named "admin" beside admin.token', async () => {
    expect(await problemsOf({ token: SECRETS.adminTokenHash, tokens: [{ name: 'admin', role: 'read', token: SECRETS.clientSecretHash }] })).toEqual([
      'admin.tokens[0].name: admin.token is already the token named "admin": rename this one or move admin.token here',
    ]);
    // Without admin.token the name is free.
    const raw = baseConfig('http://127.0.0.1:9');
    raw['admin'] = { tokens: [{ name: 'admin', role: 'read', token: SECRETS.clientSecretHash }] };
    expect((await loadTestConfig(raw)).adminTokens.map((a) => a.name)).toEqual(['admin']);
  });

  it('refuses a plain-text token with the message admin.token gets, also when the rest of the file is broken', async () => {
    const message = 'expected a scrypt hash (run "portcullis hash-secret"); plain secrets may only come from { env } or { file }';
    expect(await problemsOf({ tokens: [{ name: 'ops', role: 'manage', token: 'demo-admin-token' }] })).toEqual([`admin.tokens[0].token: ${message}`]);
    expect(await problemsOf({ token: 'demo-admin-token' })).toEqual([`admin.token: ${message}`]);
    const broken = await problemsOf({ tokens: [{ name: 'ops', role: 'manage', token: 'demo-admin-token' }], prot: 1 });
    expect(broken).toContain('admin.prot: unknown key');
    expect(broken.some((p) => p.startsWith('admin.tokens[0].token: '))).toBe(true);
  });

  it('refuses two entries with the same secret where it can tell', async () => {
    const same = 'two admin tokens have the same value';
    expect(
      await problemsOf({
        tokens: [
          { name: 'a', role: 'read', token: SECRETS.clientSecretHash },
          { name: 'b', role: 'manage', token: SECRETS.clientSecretHash },
        ],
      }),
    ).toEqual([`admin.tokens[1].token: ${same}`]);
    expect(await problemsOf({ token: SECRETS.adminTokenHash, tokens: [{ name: 'b', role: 'read', token: { env: 'HASH' } }] }, { HASH: SECRETS.adminTokenHash })).toEqual([
      `admin.tokens[0].token: ${same}`,
    ]);
    expect(
      await problemsOf(
        {
          tokens: [
            { name: 'a', role: 'read', token: { env: 'ONE' } },
            { name: 'b', role: 'manage', token: { env: 'TWO' } },
          ],
        },
        { ONE: 'shared-plain-secret', TWO: 'shared-plain-secret' },
      ),
    ).toEqual([`admin.tokens[1].token: ${same}`]);
  });

  it('checks names and roles', async () => {
    const problems = await problemsOf({
      tokens: [
        { name: 'has space', role: 'read', token: SECRETS.adminTokenHash },
        { name: 'x'.repeat(65), role: 'read', token: SECRETS.clientSecretHash },
        { name: 'no-role', token: SECRETS.operatorPasswordHash },
        { name: 'root', role: 'admin', token: SECRETS.apiUserPasswordHash },
      ],
    });
    expect(problems.sort()).toEqual([
      'admin.tokens[0].name: expected 1 to 64 letters, digits, ".", "_" or "-"',
      'admin.tokens[1].name: expected 1 to 64 letters, digits, ".", "_" or "-"',
      'admin.tokens[2].role: expected "read" or "manage"',
      'admin.tokens[3].role: expected "read" or "manage"',
    ]);
  });

  it('loads the tokens form from YAML', async () => {
    const text = [
      'upstream:',
      '  url: http://127.0.0.1:9000',
      'routes:',
      '  - id: api',
      '    path: /api/**',
      '    authenticators: [bearer]',
      'admin:',
      '  tokens:',
      '    - name: dashboards',
      '      role: read',
      '      token: { env: DASHBOARD_TOKEN }',
      '    - name: on-call',
      '      role: manage',
      `      token: ${SECRETS.adminTokenHash}`,
    ].join('\n');
    const config = await loadConfigText(text, { env: { DASHBOARD_TOKEN: 'dashboard-token-value' } });
    expect(config.adminTokens.map(({ name, role }) => `${name}:${role}`)).toEqual(['dashboards:read', 'on-call:manage']);
  });
});
