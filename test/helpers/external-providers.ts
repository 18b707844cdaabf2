// The identity providers the external-jwt integration suite runs against: one issuer per scenario (each has its
// own key-set state in the proxy), each with a real JWKS server on port 0 that serves its keys or fails the way
// the scenario needs, and the config section naming them all.

import { closedUrl, issuerKey, startJwksServer, type IssuerKey, type JwksServer } from './jwks-server.js';

export const ISS = (name: string) => `https://${name}.idp.example/`;
export const NAMES = ['idp-a', 'idp-b', 'idp-strict', 'idp-rotate', 'idp-down', 'idp-failing', 'idp-flaky', 'idp-slow', 'idp-junk', 'idp-huge', 'idp-many', 'idp-ec'] as const;
export type IssuerName = (typeof NAMES)[number];

export const servers = {} as Record<IssuerName, JwksServer>;
export const keys = {} as Record<string, IssuerKey>;
export const manyKeys: IssuerKey[] = [];
let downUrl: string;

/** Starts every provider's JWKS server with its keys, and the ways some of them fail. */
export async function startProviders(): Promise<void> {
  for (const kid of ['a-1', 'b-1', 'rot-1', 'rot-2', 'flaky-1']) keys[kid] = await issuerKey(kid);
  keys['ec-1'] = await issuerKey('ec-1', 'ES256');
  keys['ed-1'] = await issuerKey('ed-1', 'EdDSA');
  for (let i = 0; i < 30; i++) manyKeys.push(await issuerKey(`many-${i}`));
  const served: Partial<Record<IssuerName, IssuerKey[]>> = {
    'idp-a': [keys['a-1']!],
    'idp-b': [keys['b-1']!],
    'idp-strict': [keys['a-1']!],
    'idp-rotate': [keys['rot-1']!],
    'idp-flaky': [keys['flaky-1']!],
    'idp-many': manyKeys,
    'idp-ec': [keys['ec-1']!, keys['ed-1']!],
  };
  for (const name of NAMES) servers[name] = await startJwksServer(served[name] ?? []);
  servers['idp-failing'].respondWith((_req, res) => res.writeHead(500).end('down for maintenance'));
  servers['idp-slow'].respondWith(() => {});
  servers['idp-junk'].respondWith((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ this is not json'));
  servers['idp-huge'].respondWith((_req, res) => {
    // Chunked, with no Content-Length to refuse up front: the limit must hold while the body streams.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`{"keys":[${JSON.stringify(keys['a-1']!.jwk)}],"padding":"`);
    for (let i = 0; i < 64; i++) res.write('x'.repeat(4096));
    res.end('"}');
  });
  downUrl = await closedUrl();
}

export async function stopProviders(): Promise<void> {
  await Promise.all(Object.values(servers).map((server) => server.close()));
}

function issuerConfig(name: IssuerName, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    issuer: ISS(name),
    jwksUrl: name === 'idp-down' ? downUrl : name === 'idp-strict' ? servers['idp-a'].url : servers[name].url,
    audiences: ['itsm-api', 'itsm-api-2'],
    claims: { clientId: 'azp', teams: 'groups', organizations: 'org', scope: 'scope' },
    jwks: { timeout: '400ms', cooldown: '30s', maxAge: '10m' },
    ...extra,
  };
}

function externalSection(): Record<string, unknown>[] {
  return NAMES.map((name) => {
    if (name === 'idp-strict') {
      return issuerConfig(name, {
        requiredClaims: { tenant: 'acme', email_verified: [true], amr: ['mfa', 'hwk'], sid: true },
        requiredScope: 'public-api',
        claims: { scope: 'scp' },
      });
    }
    if (name === 'idp-huge') return issuerConfig(name, { jwks: { timeout: '2s', maxBytes: 65_536 } });
    if (name === 'idp-many') return issuerConfig(name, { jwks: { maxKeys: 20 } });
    if (name === 'idp-ec') return issuerConfig(name, { algorithms: ['ES256', 'EdDSA'] });
    return issuerConfig(name);
  });
}

/** Config edit: every provider under externalIssuers; /api asks bearer then external-jwt, /ext only external-jwt. */
export function withExternalIssuers(config: Record<string, unknown>): void {
  config['externalIssuers'] = externalSection();
  config['routes'] = [
    { id: 'api', path: '/api/**', authenticators: ['bearer', 'external-jwt'] },
    { id: 'ext', path: '/ext/**', authenticators: ['external-jwt'] },
    { id: 'portal-home', path: '/', methods: ['GET'], public: true },
  ];
}
