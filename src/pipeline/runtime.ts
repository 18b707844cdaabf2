// Everything the pipeline derives from one config: compiled routes, authenticators, header policy, endpoints.
// A reload builds a new Runtime and swaps it in one assignment; long-lived services (store, forwarder, caches
// of revocations, the clock, the logger) live beside it in Services.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { BearerAuthenticator } from '../faces/oauth/bearer-authenticator.js';
import type { Authenticator, AuthDenial } from '../authenticate/contract.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import type { AuthenticatorId } from '../config/schema.js';
import type { Forwarder } from '../forward/forwarder.js';
import type { HeaderPolicy } from '../rewrite/sanitize-headers.js';
import type { Logger } from '../log/logger.js';
import { compileRoutes, type CompiledRoute } from '../route/router.js';
import type { SecretVerifier } from '../secrets/verifier.js';
import type { Store } from '../store/store.js';
import { AccessTokens } from '../tokens/access-tokens.js';
import { KeyRing } from '../tokens/keyring.js';
import type { RevocationView } from '../session/revocations.js';
import { headerPolicyFor, identityHeaderNames, type IdentityHeaderNames } from '../rewrite/identity-headers.js';
import type { RequestRecord } from './request-record.js';
import type { PcrContext } from '../faces/pcr/api-key-authenticator.js';
import type { LoginGuard } from '../protection/login-guard.js';

export interface OwnEndpoint {
  /** Route id for logs and metrics. */
  id: string;
  handle(req: IncomingMessage, res: ServerResponse, record: RequestRecord): void;
}

/** The PCR-360 face, present when the config has a `pcr` section. */
export interface PcrFace {
  authenticator: Authenticator;
  context: PcrContext;
  /** authlogin / authlogout, answered by the proxy itself. */
  ownEndpoint(path: string): OwnEndpoint | undefined;
  sendDenial(res: ServerResponse, denial: AuthDenial): void;
  /** Whether the path carries one of the configured API keys. */
  carriesApiKey(path: string): boolean;
  /** The path with any API key in it masked, for logs. */
  maskPath(path: string): string;
}

export interface RequestObserver {
  requestFinished(record: RequestRecord, req: IncomingMessage, res: ServerResponse): void;
}

export interface Services {
  current(): Runtime;
  store: Store;
  clock: Clock;
  logger: Logger;
  observer: RequestObserver;
  forwarder: Forwarder;
  revocations: RevocationView;
  verifier: SecretVerifier;
  guard: LoginGuard;
  /** Client sockets of forwarded protocol upgrades (WebSocket) that are still open. */
  upgradedSockets: Set<Duplex>;
}

export interface Runtime {
  config: Config;
  keys: KeyRing;
  accessTokens: AccessTokens;
  routes: readonly CompiledRoute[];
  authenticators: ReadonlyMap<AuthenticatorId, Authenticator>;
  headerPolicy: HeaderPolicy;
  identityNames: IdentityHeaderNames;
  ownEndpoints: ReadonlyMap<string, OwnEndpoint>;
  pcr: PcrFace | null;
  isTrustedPeer(address: string): boolean;
}

export type RuntimeParts = Pick<Services, 'store' | 'clock' | 'logger' | 'revocations' | 'verifier'>;

export interface RuntimeExtensions {
  /** Adds the proxy's own endpoints (token, JWKS, health) to a runtime being built. */
  ownEndpoints(runtime: Omit<Runtime, 'ownEndpoints'>): Map<string, OwnEndpoint>;
  /** Builds the PCR face for a runtime being built; null when the config has none. */
  pcrFace(runtime: Omit<Runtime, 'ownEndpoints' | 'pcr'>): PcrFace | null;
}

/** Keeps the previous key ring when the keys did not change, so a reload never invalidates issued tokens. */
function keyRingFor(config: Config, previous: Runtime | null): KeyRing {
  if (previous && sameKeys(previous.config, config)) return previous.keys;
  return KeyRing.fromMaterial(config.signingKeys, config.parsed.tokens.algorithm);
}

function sameKeys(a: Config, b: Config): boolean {
  if (a.parsed.tokens.algorithm !== b.parsed.tokens.algorithm || a.signingKeys.length !== b.signingKeys.length) return false;
  return a.signingKeys.every((k, i) => k.kid === b.signingKeys[i]!.kid && k.material === b.signingKeys[i]!.material && k.active === b.signingKeys[i]!.active);
}

export function buildRuntime(config: Config, parts: RuntimeParts, extensions: RuntimeExtensions, previous: Runtime | null = null): Runtime {
  const tokens = config.parsed.tokens;
  const keys = keyRingFor(config, previous);
  const accessTokens =
    previous && previous.keys === keys && sameTokenSettings(previous.config, config)
      ? previous.accessTokens
      : new AccessTokens(keys, { issuer: tokens.issuer, audience: tokens.audience, leewaySeconds: Math.floor(tokens.leeway / 1000), cacheSize: tokens.cacheSize }, parts.clock);
  const authenticators = new Map<AuthenticatorId, Authenticator>();
  authenticators.set(
    'bearer',
    new BearerAuthenticator({
      accessTokens,
      revocations: parts.revocations,
      clients: config.clients,
      operators: config.operators,
      requiredScope: config.parsed.oauth.scope,
      store: parts.store,
      now: () => parts.clock.now(),
      failOpen: config.parsed.store.failOpen.bearerRevocationCheck,
    }),
  );
  const trusted = compileTrustedPeers(config.parsed.listen.trustedProxies);
  const base = {
    config,
    keys,
    accessTokens,
    routes: compileRoutes(config.parsed.routes),
    authenticators,
    headerPolicy: headerPolicyFor(config.parsed.identityHeaders),
    identityNames: identityHeaderNames(config.parsed.identityHeaders),
    isTrustedPeer: trusted,
  };
  const pcr = extensions.pcrFace(base);
  if (pcr) authenticators.set('pcr-api-key', pcr.authenticator);
  const withPcr = { ...base, pcr };
  return { ...withPcr, ownEndpoints: extensions.ownEndpoints(withPcr) };
}

function sameTokenSettings(a: Config, b: Config): boolean {
  const x = a.parsed.tokens;
  const y = b.parsed.tokens;
  return x.issuer === y.issuer && x.audience === y.audience && x.leeway === y.leeway && x.cacheSize === y.cacheSize;
}

/** Peers whose X-Forwarded-* headers are believed: exact addresses or CIDR ranges, IPv4 and IPv6. */
export function compileTrustedPeers(entries: readonly string[]): (address: string) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    const unmapped = address.replace(/^::ffff:/i, '');
    const family = isIP(unmapped);
    return family !== 0 && list.check(unmapped, family === 6 ? 'ipv6' : 'ipv4');
  };
}
