// The plug-in contract of a credential face (OAuth, PCR-360, and later ones). A face contributes what the
// pipeline cannot know by itself: its authenticators, the endpoints it answers itself, where its credentials
// hide in a path (so logs mask them and a second credential beside them is refused), and how to recognise one
// of its tokens by value. The pipeline and the stages see faces only through this interface; the registry in
// `src/faces/registry.ts` names them.

import type { IncomingMessage } from 'node:http';
import type { Authenticator } from '../authenticate/contract.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import type { ReasonId } from '../errors/reasons.js';
import type { Logger } from '../log/logger.js';
import type { OwnEndpoint } from '../route/own-endpoint.js';
import type { LoginGuard } from '../protection/login-guard.js';
import type { SecretVerifier } from '../secrets/verifier.js';
import type { Credential, Liveness } from '../session/liveness.js';
import type { Store } from '../store/store.js';
import type { RequestTarget } from '../target/request-target.js';
import type { AccessTokens } from '../tokens/access-tokens.js';
import type { KeyRing } from '../tokens/keyring.js';

/** What an own endpoint did, for observers (metrics): never a secret, only ids, the status and the reason. */
export interface OwnEndpointOutcome {
  endpoint: string;
  status: number;
  reason: ReasonId;
  user: string | null;
  clientId?: string | null;
  grantType?: string | null;
}

/** A token recognised by value (admin revocation, introspection): which credential it is and what it names. */
export interface RecognizedToken {
  credential: Credential;
  /** When the token stops being valid by itself (ms), so a revocation need not be remembered longer. */
  expiresAt: number | null;
}

/**
 * What token introspection (RFC 7662 §2.2) answers about a live token, in the RFC's member names: exactly what a
 * request carrying it would be accepted as right now.
 */
export interface TokenDescription {
  token_type: string;
  client_id?: string;
  username?: string;
  sub?: string;
  scope?: string;
  exp?: number;
  iat?: number;
  iss?: string;
  aud?: string;
  jti?: string;
}

/** How often one issuer's key set was fetched with one outcome; the issuer is its configured name, never a token's value. */
export interface KeySetFetchCount {
  issuer: string;
  outcome: string;
  count: number;
}

export interface Face {
  readonly id: string;
  readonly authenticators: readonly Authenticator[];
  /** Own endpoints at exact normalised paths. */
  readonly endpoints?: ReadonlyMap<string, OwnEndpoint>;
  /** Own endpoints whose paths have a shape rather than one spelling (PCR-360 login under any key). */
  ownEndpointAt?(target: RequestTarget): OwnEndpoint | undefined;
  /** The path with this face's credentials masked, for logs; the path itself where it holds none. */
  maskPath?(path: string, target: RequestTarget): string;
  /** Whether the path carries one of this face's credentials where the upstream would read it. */
  pathCarriesCredential?(target: RequestTarget): boolean;
  recognizeToken?(token: string): RecognizedToken | null;
  /** The token described when it is one of this face's and live; null when it is not this face's or not live. */
  describeToken?(token: string): Promise<TokenDescription | null>;
  /** Caches of verified tokens, by what they hold, for metrics. */
  readonly tokenCaches?: Readonly<Record<string, { readonly hits: number; readonly misses: number }>>;
  /** Running totals of remote key-set fetches (an external issuer's JWKS) by issuer name and outcome, for metrics. */
  keySetFetches?(): readonly KeySetFetchCount[];
}

/** What a face is built from: the running config and the long-lived services it may use. */
export interface FaceContext {
  config: Config;
  keys: KeyRing;
  accessTokens: AccessTokens;
  store: Store;
  clock: Clock;
  logger: Logger;
  verifier: SecretVerifier;
  guard: LoginGuard;
  liveness: Liveness;
  /** The client's address as brute-force protection counts it (X-Forwarded-For only from trusted proxies). */
  clientAddress(req: IncomingMessage): string;
  /** `scheme://host` the client reached the proxy at (forwarded values only from trusted proxies); null when unknown. */
  requestOrigin(req: IncomingMessage): string | null;
  onOutcome(outcome: OwnEndpointOutcome): void;
  /** Every face built for the same config, this one included (introspection asks each about a token). */
  faces(): readonly Face[];
}

export interface FaceDefinition {
  readonly id: string;
  /** The authenticator ids routes may name for this face; config naming any other id fails at start. */
  readonly authenticatorIds: readonly string[];
  /** Builds the face for one config; null when the config does not enable it. */
  create(context: FaceContext): Face | null;
}
