// An external identity provider for tests: signing keys made with jose, a real JWKS endpoint on port 0 that
// counts how often it is asked and can be told to fail in the ways real ones do (down, slow, junk, huge), and
// tokens signed with those keys, so the external-jwt suites exercise the proxy's real fetching over HTTP.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface IssuerKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as a JWKS would publish it (kid, alg, use: sig). */
  jwk: JWK;
}

export async function issuerKey(kid: string, alg = 'RS256'): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export type JwksResponder = (req: IncomingMessage, res: ServerResponse) => void;

export interface JwksServer {
  url: string;
  /** Requests received so far, answered or not. */
  fetches: number;
  /** Serve these keys (the default answer). */
  serve(keys: readonly (IssuerKey | JWK)[]): void;
  /** Answer differently from now on; null goes back to serving the keys. */
  respondWith(responder: JwksResponder | null): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly (IssuerKey | JWK)[] = []): Promise<JwksServer> {
  let document = '';
  let responder: JwksResponder | null = null;
  const state = {
    fetches: 0,
    serve(next: readonly (IssuerKey | JWK)[]) {
      document = JSON.stringify({ keys: next.map((key) => ('jwk' in key ? key.jwk : key)) });
    },
  };
  state.serve(keys);
  const server: Server = createServer((req, res) => {
    state.fetches++;
    if (responder !== null) {
      responder(req, res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'content-length': Buffer.byteLength(document) });
    res.end(document);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get fetches() {
      return state.fetches;
    },
    serve: (next) => state.serve(next),
    respondWith(next) {
      responder = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL where nothing listens: a server is started on port 0 and closed again. */
export async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks`;
}

/** Claims an external provider's access token carries, valid at `nowMs` for an hour. */
export function externalClaims(issuer: string, nowMs: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  const claims: Record<string, unknown> = { iss: issuer, sub: 'alice', aud: 'itsm-api', iat, exp: iat + 3600, jti: `ext-${Math.random().toString(36).slice(2)}`, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete claims[name];
  return claims;
}

/** Signs claims with one of a provider's keys (its kid and alg unless the header says otherwise). */
export function signExternal(key: IssuerKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);
}

/** A token from parts written by hand, for headers and signatures no JWT library would produce. */
export function handMade(header: Record<string, unknown>, claims: Record<string, unknown>, signature = ''): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  return `${part(header)}.${part(claims)}.${signature}`;
}
