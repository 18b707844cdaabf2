// The `externalIssuers` section: its defaults, and every way an entry is refused, reported with its path among
// the file's other problems (algorithms that are never safe, no audience, repeated names or issuers, our own
// issuer as an external one, a route naming external-jwt without issuers).

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config-loader.js';
import { SECRETS } from '../fixtures/secrets.js';
import { configProblems } from '../helpers/fixtures.js';

function configWith(externalIssuers: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    upstream: { url: 'http://127.0.0.1:9000' },
    oauth: { clients: [{ id: 'public-api', secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password'] }] },
    routes: [{ id: 'api', path: '/api/**', authenticators: ['bearer', 'external-jwt'] }],
    externalIssuers,
    ...extra,
  };
}

const issuer = (overrides: Record<string, unknown> = {}) => ({
  name: 'corp-idp',
  issuer: 'https://login.corp.example/',
  jwksUrl: 'https://login.corp.example/keys',
  audiences: ['itsm-api'],
  ...overrides,
});


describe('externalIssuers', () => {
  it('accepts the README\'s example as it is written', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Tokens from an external identity provider'));
    const example = parse(/```yaml\n([\s\S]*?)```/.exec(section)![1]!) as Record<string, unknown>;
    const config = await resolveConfig({ ...configWith([]), pcr: {}, ...example }, { env: {} });
    expect(config.parsed.externalIssuers.map((i) => i.name)).toEqual(['corp-idp']);
    expect(config.parsed.externalIssuers[0]!.requiredClaims).toMatchObject({ email_verified: [true], sid: true });
  });

  it('loads an issuer with its defaults', async () => {
    const config = await resolveConfig(configWith([issuer()]), { env: {} });
    expect(config.parsed.externalIssuers[0]).toEqual({
      ...issuer(),
      algorithms: ['RS256'],
      requiredClaims: {},
      leeway: 30_000,
      claims: { user: 'sub' },
      jwks: { timeout: 2000, cooldown: 30_000, maxAge: 600_000, maxKeys: 20, maxBytes: 65_536 },
      cacheSize: 10_000,
    });
    expect(config.parsed.identityHeaders.issuer).toBe('X-Portcullis-Issuer');
  });

  it('is empty by default', async () => {
    const raw = configWith(undefined, { routes: [{ id: 'api', path: '/api/**', authenticators: ['bearer'] }] });
    delete raw['externalIssuers'];
    expect((await resolveConfig(raw, { env: {} })).parsed.externalIssuers).toEqual([]);
  });

  it('refuses none, HS* and unknown algorithms with the list of accepted ones', async () => {
    const problems = await configProblems(configWith([issuer({ algorithms: ['RS256', 'none', 'HS256'] })]));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^externalIssuers\[0\]\.algorithms\[1\]: expected one of RS256, .*"none" and HS\* are never accepted/);
    expect(problems[1]).toMatch(/^externalIssuers\[0\]\.algorithms\[2\]: /);
  });

  it('reports every problem of the section at once, each with its path', async () => {
    const problems = await configProblems(
      configWith([
        issuer({ audiences: [], jwksUrl: 'ftp://login.corp.example/keys', leeway: 'soon', colour: 'blue' }),
        issuer({ name: 'Corp IdP', issuer: 'not a url', jwks: { maxKeys: 0, cooldown: '30 seconds' } }),
        issuer({ requiredScope: 'public-api', requiredClaims: { tenant: [] } }),
      ]),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'externalIssuers[0].colour: unknown key',
        'externalIssuers[0].audiences: name at least one audience: a token for any other service must not pass',
        "externalIssuers[0].jwksUrl: expected the http(s) URL of the issuer's JSON Web Key Set",
        'externalIssuers[0].leeway: expected a duration like "30s"',
        'externalIssuers[1].issuer: expected the issuer URL exactly as its tokens carry it in "iss"',
        'externalIssuers[1].jwks.cooldown: expected a duration like "30s"',
      ]),
    );
    for (const path of ['externalIssuers[1].name', 'externalIssuers[1].jwks.maxKeys', 'externalIssuers[2].requiredClaims.tenant']) {
      expect(problems.some((p) => p.startsWith(`${path}: `)), path).toBe(true);
    }
  });

  it('needs the scope claim named when a scope is required', async () => {
    expect(await configProblems(configWith([issuer({ requiredScope: 'public-api' })]))).toEqual(['externalIssuers[0].requiredScope: name the claim that holds the scope in claims.scope']);
  });

  it('refuses repeated names and repeated issuers', async () => {
    const problems = await configProblems(configWith([issuer(), issuer({ issuer: 'https://other.example/' }), issuer({ name: 'other' })]));
    expect(problems.sort()).toEqual(['externalIssuers[1].name: issuer names must be unique', 'externalIssuers[2].issuer: two entries name the same issuer']);
  });

  it('refuses our own issuer as an external one', async () => {
    const problems = await configProblems(configWith([issuer({ issuer: 'https://proxy.example/' })], { tokens: { issuer: 'https://proxy.example/' } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^externalIssuers\[0\]\.issuer: this is the proxy's own issuer \(tokens\.issuer\)/);
  });

  it('refuses a route naming external-jwt when no issuer is configured', async () => {
    expect(await configProblems(configWith([]))).toEqual(['routes: a route uses the "external-jwt" authenticator but "externalIssuers" is empty']);
  });
});
