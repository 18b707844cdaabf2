// Everything the pipeline derives from one config: the faces and their authenticators, compiled routes with the
// authenticators each one asks, own endpoints, the header policy. A reload builds a new Runtime and swaps it in
// one assignment; long-lived services (store, forwarder, revocation view, sessions, clock, logger) live beside
// it in Services.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Authenticator } from '../authenticate/contract.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import type { Forwarder } from '../forward/forwarder.js';
import { compileTrustedPeers } from '../listener/trusted-peers.js';
import type { Logger } from '../log/logger.js';
import type { HeaderPolicy } from '../rewrite/sanitize-headers.js';
import { headerPolicyFor, identityHeaderNames, type IdentityHeaderNames } from '../rewrite/identity-headers.js';
import { hstsHeaderValue } from '../respond/hsts.js';
import { forwardAuthEndpoint, type ForwardAuthEndpoint } from '../route/forward-auth-path.js';
import type { OwnEndpoint } from '../route/own-endpoint.js';
import { compileRoutes, type CompiledRoute } from '../route/router.js';
import type { Liveness } from '../session/liveness.js';
import type { PcrSessions } from '../session/pcr-sessions.js';
import type { RevocationView } from '../session/revocations.js';
import type { LoginGuard } from '../protection/login-guard.js';
import type { SecretVerifier } from '../secrets/verifier.js';
import type { Store } from '../store/store.js';
import type { RequestTarget } from '../target/request-target.js';
import { AccessTokens } from '../tokens/access-tokens.js';
import { jwksEndpoint, JWKS_PATH } from '../tokens/jwks-endpoint.js';
import { KeyRing } from '../tokens/keyring.js';
import type { Face, FaceContext, FaceDefinition } from './face.js';
import type { RequestRecord } from './request-record.js';

export interface RequestObserver {
  requestFinished(record: RequestRecord, req: IncomingMessage, res: ServerResponse): void;
}

/** A configured route with the authenticators it asks, in its order. */
export interface RuntimeRoute extends CompiledRoute {
  chain: readonly Authenticator[];
}

/** The long-lived services the pipeline uses for every request. */
export interface PipelineServices {
  current(): Runtime;
  logger: Logger;
  observer: RequestObserver;
  forwarder: Forwarder;
  liveness: Liveness;
  /** Client sockets of forwarded protocol upgrades (WebSocket) that are still open. */
  upgradedSockets: Set<Duplex>;
}

/** Every long-lived service of a running proxy; each stage and face is handed only the part it needs. */
export interface Services extends PipelineServices {
  store: Store;
  clock: Clock;
  revocations: RevocationView;
  pcrSessions: PcrSessions;
  verifier: SecretVerifier;
  guard: LoginGuard;
}

export interface Runtime {
  config: Config;
  keys: KeyRing;
  accessTokens: AccessTokens;
  faces: readonly Face[];
  routes: readonly RuntimeRoute[];
  headerPolicy: HeaderPolicy;
  identityNames: IdentityHeaderNames;
  /** Own endpoints at exact paths: the faces', the JWKS and the health probes. */
  ownEndpoints: ReadonlyMap<string, OwnEndpoint>;
  ownEndpointAt(target: RequestTarget): OwnEndpoint | undefined;
  /** Where proxies in front ask for decisions (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz); null when off. */
  forwardAuth: ForwardAuthEndpoint | null;
  /** The target's path with every face's credentials masked, for logs. */
  maskPath(target: RequestTarget): string;
  /** Whether any face finds one of its credentials in the path. */
  pathCarriesCredential(target: RequestTarget): boolean;
  isTrustedPeer(address: string): boolean;
  /** Strict-Transport-Security for the proxy's own answers over TLS; null without TLS or with `hsts: false`. */
  hsts: string | null;
}

export interface RuntimeInputs {
  faces: readonly FaceDefinition[];
  /** Endpoints every config has (health probes), beside the faces' own. */
  builtinEndpoints: ReadonlyMap<string, OwnEndpoint>;
  services: Omit<FaceContext, 'config' | 'keys' | 'accessTokens' | 'clientAddress' | 'requestOrigin' | 'faces'>;
  clientAddress(req: IncomingMessage, isTrustedPeer: (address: string) => boolean): string;
  requestOrigin(req: IncomingMessage, isTrustedPeer: (address: string) => boolean): string | null;
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

function sameTokenSettings(a: Config, b: Config): boolean {
  const x = a.parsed.tokens;
  const y = b.parsed.tokens;
  return x.issuer === y.issuer && x.audience === y.audience && x.leeway === y.leeway && x.cacheSize === y.cacheSize;
}

export function buildRuntime(config: Config, inputs: RuntimeInputs, previous: Runtime | null = null): Runtime {
  const tokens = config.parsed.tokens;
  const keys = keyRingFor(config, previous);
  const accessTokens =
    previous && previous.keys === keys && sameTokenSettings(previous.config, config)
      ? previous.accessTokens
      : new AccessTokens(keys, { issuer: tokens.issuer, audience: tokens.audience, leewaySeconds: Math.floor(tokens.leeway / 1000), cacheSize: tokens.cacheSize }, inputs.services.clock);
  const isTrustedPeer = compileTrustedPeers(config.parsed.listen.trustedProxies);
  // Faces are handed the list they end up in: it is read at request time, once every face is built.
  let faces: readonly Face[] = [];
  const context: FaceContext = {
    ...inputs.services,
    config,
    keys,
    accessTokens,
    clientAddress: (req) => inputs.clientAddress(req, isTrustedPeer),
    requestOrigin: (req) => inputs.requestOrigin(req, isTrustedPeer),
    faces: () => faces,
  };
  faces = inputs.faces.map((definition) => definition.create(context)).filter((face): face is Face => face !== null);

  const authenticators = new Map<string, Authenticator>(faces.flatMap((face) => face.authenticators.map((a) => [a.id, a] as const)));
  // A route may name the authenticator of a face this config does not enable (no `pcr` section): it is skipped.
  const routes = compileRoutes(config.parsed.routes).map((route) => ({
    ...route,
    chain: route.authenticators.map((id) => authenticators.get(id)).filter((a): a is Authenticator => a !== undefined),
  }));

  const ownEndpoints = new Map<string, OwnEndpoint>(inputs.builtinEndpoints);
  ownEndpoints.set(JWKS_PATH, jwksEndpoint(keys));
  for (const face of faces) for (const [path, endpoint] of face.endpoints ?? []) ownEndpoints.set(path, endpoint);
  const shapedEndpoints = faces.filter((face) => face.ownEndpointAt !== undefined);
  const maskers = faces.filter((face) => face.maskPath !== undefined);
  const pathCredentials = faces.filter((face) => face.pathCarriesCredential !== undefined);

  return {
    config,
    keys,
    accessTokens,
    faces,
    routes,
    headerPolicy: headerPolicyFor(config.parsed.identityHeaders),
    identityNames: identityHeaderNames(config.parsed.identityHeaders),
    ownEndpoints,
    ownEndpointAt(target) {
      const exact = ownEndpoints.get(target.path);
      if (exact !== undefined) return exact;
      for (const face of shapedEndpoints) {
        const endpoint = face.ownEndpointAt!(target);
        if (endpoint !== undefined) return endpoint;
      }
      return undefined;
    },
    maskPath(target) {
      let path = target.path;
      for (const face of maskers) path = face.maskPath!(path, target);
      return path;
    },
    pathCarriesCredential(target) {
      for (const face of pathCredentials) if (face.pathCarriesCredential!(target)) return true;
      return false;
    },
    isTrustedPeer,
    forwardAuth: forwardAuthEndpoint(config.parsed.forwardAuth),
    hsts: hstsHeaderValue(config.parsed.listen.tls),
  };
}
