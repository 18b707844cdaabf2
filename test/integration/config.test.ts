// Loading a config: every problem reported at once with its path, unknown keys, wrong types, refused plaintext
// secrets, `${VAR}` / `${VAR:-default}` interpolation, secrets from env and files, and the shipped example.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/load.js';
import { loadConfigFile, loadConfigText, resolveConfig } from '../../src/config-loader.js';
import { parseSecretHash, verifySecret } from '../../src/secrets/hash.js';
import { SECRETS } from '../fixtures/secrets.js';

/** The smallest config that loads: one client, one operator, one route. */
function minimal(overrides: { client?: string; operator?: string; extra?: string } = {}): string {
  return [
    'upstream:',
    '  url: http://127.0.0.1:9000',
    'oauth:',
    '  clients:',
    '    - id: public-api',
    `      secret: ${overrides.client ?? SECRETS.clientSecretHash}`,
    '      accessTokenTtl: 1h',
    '      refreshTokenTtl: 8h',
    '      grants: [password, refresh_token]',
    'operators:',
    '  - login: my-operator',
    `    password: ${overrides.operator ?? SECRETS.operatorPasswordHash}`,
    '    apiAccess: true',
    'routes:',
    '  - id: api',
    '    path: /api/**',
    '    authenticators: [bearer]',
    overrides.extra ?? '',
  ].join('\n');
}

async function problemsOf(load: Promise<unknown>): Promise<string[]> {
  const error = await load.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'the config was accepted').toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'portcullis-config-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('validation', () => {
  it('loads a minimal config and applies the defaults', async () => {
    const config = await loadConfigText(minimal(), { env: {} });
    expect(config.parsed.listen).toMatchObject({ host: '127.0.0.1', port: 8080, maxOwnBodyBytes: 16_384 });
    expect(config.parsed.tokens).toMatchObject({ issuer: 'portcullis', audience: 'itsm-api', algorithm: 'RS256', leeway: 30_000 });
    expect(config.parsed.oauth.scope).toBe('public-api');
    expect(config.clients.get('public-api')).toMatchObject({ accessTokenTtl: 3_600_000, refreshTokenTtl: 28_800_000, allowsPassword: true, allowsRefresh: true });
  });

  it('reports every problem at once, each with its path', async () => {
    const text = [
      'listen:',
      '  prot: 8080',
      '  port: "8080"',
      'upstream:',
      '  url: ftp://portal',
      'oauth:',
      '  clients:',
      '    - id: public-api',
      `      secret: ${SECRETS.clientSecretHash}`,
      '      accessTokenTtl: 1 hour',
      '      refreshTokenTtl: 30m1h',
      '      grants: [password, implicit]',
      'operators:',
      '  - login: my operator',
      `    password: ${SECRETS.operatorPasswordHash}`,
      '    apiAccess: yes',
      'routes:',
      '  - id: API',
      '    path: api/**',
      '    authenticators: [bearer]',
      'admin:',
      '  host: ${ADMIN_HOST}',
    ].join('\n');
    const error = await loadConfigText(text, { env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'listen.prot: unknown key',
        'upstream.url: expected "demo" or an http(s) URL',
        'oauth.clients[0].accessTokenTtl: expected a duration like "1h"',
        'oauth.clients[0].refreshTokenTtl: expected a duration like "8h"',
        'admin.host: environment variable ADMIN_HOST is not set',
        'operators[0].login: expected printable ASCII without spaces',
      ]),
    );
    for (const path of ['listen.port', 'oauth.clients[0].grants[1]', 'operators[0].apiAccess', 'routes[0].id', 'routes[0].path']) {
      expect(problems.some((p) => p.startsWith(`${path}: `)), path).toBe(true);
    }
    expect(problems).toHaveLength(11);
    expect((error as ConfigError).message).toMatch(/^\(inline config\): 11 problems:\n {2}/);
    expect((error as ConfigError).message).not.toMatch(/\bat \S+ \(|ZodError/);
  });

  it('reports unknown keys at any depth, including inside list items', async () => {
    const problems = await problemsOf(
      loadConfigText(minimal({ extra: 'tokens:\n  leway: 30s\nstore:\n  type: memory\n  maxSession: 10\nlog:\n  lvl: info' }).replace('    apiAccess: true', '    apiAccess: true\n    team: [a]'), { env: {} }),
    );
    expect(problems.sort()).toEqual(['log.lvl: unknown key', 'operators[0].team: unknown key', 'store.maxSession: unknown key', 'tokens.leway: unknown key']);
  });

  it('reports YAML syntax errors and duplicate keys instead of guessing', async () => {
    const syntax = await problemsOf(loadConfigText('upstream:\n  url: [unclosed\n', { env: {} }));
    expect(syntax[0]).toMatch(/^YAML: /);
    const duplicate = await problemsOf(loadConfigText(`${minimal()}\nupstream:\n  url: http://other\n`, { env: {} }));
    expect(duplicate.join('\n')).toMatch(/^YAML: .*(unique|duplicate)/im);
    const notAMapping = await problemsOf(loadConfigText('- a\n- b\n', { env: {} }));
    expect(notAMapping).toEqual(['the file must be a YAML mapping of settings']);
  });

  it('reports cross-reference problems with their paths', async () => {
    const text = minimal().replace(
      'routes:\n',
      'routes:\n  - id: api\n    path: /other/**\n    authenticators: [pcr-api-key]\n',
    );
    const problems = await problemsOf(loadConfigText(text, { env: {} }));
    expect(problems).toEqual(expect.arrayContaining(['routes[1].id: route ids must be unique', 'routes: a route uses the "pcr-api-key" authenticator but there is no "pcr" section']));
  });

  it('refuses a plaintext secret written in the config, naming the command that makes a hash', async () => {
    const problems = await problemsOf(loadConfigText(minimal({ client: 'demo-secret', operator: 'my-operator-password' }), { env: {} }));
    expect(problems).toEqual([
      'oauth.clients[0].secret: expected a scrypt hash (run "portcullis hash-secret"); plain secrets may only come from { env } or { file }',
      'operators[0].password: expected a scrypt hash (run "portcullis hash-secret"); plain secrets may only come from { env } or { file }',
    ]);
  });

  it('reports a plaintext secret together with problems elsewhere in the same file', async () => {
    // One pass must show the operator everything to fix, secrets included.
    const text = minimal({ client: 'demo-secret' }).replace('  url: http://127.0.0.1:9000', '  url: http://127.0.0.1:9000\n  timout: 5s');
    const problems = await problemsOf(loadConfigText(text, { env: {} }));
    expect(problems).toContain('upstream.timout: unknown key');
    expect(problems.some((p) => p.startsWith('oauth.clients[0].secret: '))).toBe(true);
  });

  it('accepts a config object built in code through resolveConfig, with the same checks', async () => {
    const problems = await problemsOf(resolveConfig({ upstream: { url: 'http://x' }, routes: [], listen: { prot: 1 } }, { env: {} }));
    expect(problems).toEqual(expect.arrayContaining(['listen.prot: unknown key']));
    expect(problems.some((p) => p.startsWith('routes: '))).toBe(true);
  });
});

describe('environment interpolation', () => {
  it('replaces ${VAR} and ${VAR:-default} in string values, and $${ writes a literal ${', async () => {
    const text = minimal({ extra: 'listen:\n  host: ${HOST:-0.0.0.0}\ntokens:\n  issuer: ${ISSUER}\n  audience: $${not-a-var}' }).replace(
      'http://127.0.0.1:9000',
      'http://${UPSTREAM_HOST}:${UPSTREAM_PORT:-9000}/base',
    );
    const config = await loadConfigText(text, { env: { UPSTREAM_HOST: 'portal.internal', ISSUER: 'https://auth.example' } });
    expect(config.parsed.upstream.url).toBe('http://portal.internal:9000/base');
    expect(config.parsed.listen.host).toBe('0.0.0.0');
    expect(config.parsed.tokens.issuer).toBe('https://auth.example');
    expect(config.parsed.tokens.audience).toBe('${not-a-var}');
    const withHost = await loadConfigText(text, { env: { UPSTREAM_HOST: 'portal.internal', ISSUER: 'x', HOST: '10.0.0.5', UPSTREAM_PORT: '81' } });
    expect(withHost.parsed.listen.host).toBe('10.0.0.5');
    expect(withHost.parsed.upstream.url).toBe('http://portal.internal:81/base');
  });

  it('treats an empty variable as unset: the default applies, or it is reported', async () => {
    const text = minimal({ extra: 'listen:\n  host: ${HOST:-127.0.0.2}\ntokens:\n  issuer: ${ISSUER}' });
    const problems = await problemsOf(loadConfigText(text, { env: { HOST: '', ISSUER: '' } }));
    expect(problems).toContain('tokens.issuer: environment variable ISSUER is not set');
    expect(problems.every((p) => p.startsWith('tokens.issuer: ')), 'the empty HOST should have taken its default').toBe(true);
  });

  it('reports every missing variable with the path where it is used', async () => {
    const text = minimal({ extra: 'tokens:\n  issuer: ${ISSUER}\n  audience: ${AUDIENCE}' }).replace('http://127.0.0.1:9000', 'http://${UPSTREAM_HOST}');
    const problems = await problemsOf(loadConfigText(text, { env: {} }));
    expect(problems).toEqual(
      expect.arrayContaining([
        'upstream.url: environment variable UPSTREAM_HOST is not set',
        'tokens.issuer: environment variable ISSUER is not set',
        'tokens.audience: environment variable AUDIENCE is not set',
      ]),
    );
  });

  it('never lets a variable change the structure of the document', async () => {
    const config = await loadConfigText(minimal({ extra: 'tokens:\n  issuer: ${ISSUER}' }), { env: { ISSUER: 'x\nadmin:\n  port: 1\n' } });
    expect(config.parsed.tokens.issuer).toBe('x\nadmin:\n  port: 1\n');
    expect(config.parsed.admin.port).toBe(9091);
  });
});

describe('secret sources', () => {
  it('hashes a plain secret read from { env }, and uses a hash from env as it is', async () => {
    const text = minimal({ client: '{ env: CLIENT_SECRET }', operator: '{ env: OPERATOR_PASSWORD }' });
    const config = await loadConfigText(text, { env: { CLIENT_SECRET: 'from-the-environment', OPERATOR_PASSWORD: SECRETS.operatorPasswordHash } });
    const client = config.clients.get('public-api')!;
    expect(client.secret.text).toMatch(/^scrypt\$/);
    expect(client.secret.text).not.toContain('from-the-environment');
    expect(await verifySecret('from-the-environment', client.secret.parsed)).toBe(true);
    expect(config.operators.get('my-operator')!.password.text).toBe(SECRETS.operatorPasswordHash);
  });

  it('reads { file } relative to the config, without the trailing newline', async () => {
    writeFileSync(join(dir, 'client.secret'), 'secret-in-a-file\n');
    writeFileSync(join(dir, 'portcullis.yaml'), minimal({ client: '{ file: client.secret }' }));
    const config = await loadConfigFile(join(dir, 'portcullis.yaml'), {}, {});
    const stored = parseSecretHash(config.clients.get('public-api')!.secret.text)!;
    expect(await verifySecret('secret-in-a-file', stored)).toBe(true);
    expect(await verifySecret('secret-in-a-file\n', stored)).toBe(false);
  });

  it('reports a missing env variable and an unreadable file with their paths', async () => {
    const text = minimal({ client: '{ env: NOT_SET_ANYWHERE }', operator: '{ file: does-not-exist.txt }' });
    const problems = await problemsOf(loadConfigText(text, { env: {}, baseDir: dir }));
    expect(problems).toEqual([
      'oauth.clients[0].secret: environment variable NOT_SET_ANYWHERE is not set',
      'operators[0].password: cannot read secret file does-not-exist.txt (ENOENT)',
    ]);
  });

  it('refuses a secret source that is neither a string, { env } nor { file }', async () => {
    const problems = await problemsOf(loadConfigText(minimal({ client: '{ value: demo-secret }' }), { env: {} }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^oauth\.clients\[0\]\.secret: /);
  });
});

describe('the shipped example', () => {
  it('config/example.yaml loads as it is', async () => {
    const config = await loadConfigFile('config/example.yaml', {}, {});
    expect(config.parsed.upstream.url).toBe('demo');
    expect([...config.clients.keys()]).toEqual(['public-api', 'publbe-api', 'resource-server', 'monitoring']);
    expect(config.operators.get('my-operator')?.apiAccess).toBe(true);
  });

  it('applies command-line overrides on top of the file', async () => {
    const config = await loadConfigFile('config/example.yaml', { port: 0, upstream: 'http://127.0.0.1:9999', adminPort: 0 }, {});
    expect(config.parsed.listen.port).toBe(0);
    expect(config.parsed.admin.port).toBe(0);
    expect(config.parsed.upstream.url).toBe('http://127.0.0.1:9999');
  });
});
