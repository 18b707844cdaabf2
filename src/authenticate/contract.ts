// The contract every authenticator fulfils. A route lists authenticators in order; each is asked in turn:
// - it attributes the request's credential to an identity (and says what the session and authorize stages must
//   check for it), or
// - it denies the request (the credential is one of its own and it is bad: the request stops there), or
// - it declines: the credential is not one it can attribute. A decline may carry the denial it would give, with
//   how specific it is, so that when every authenticator declines a presented credential the answer is the most
//   specific denial among them (a bearer token that no one can attribute is still 401 invalid_token).

import type { IncomingHttpHeaders } from 'node:http';
import type { AuthorizationSubject } from '../authorize/permissions.js';
import type { Denial } from '../respond/errors.js';
import type { Credential } from '../session/liveness.js';
import type { RequestTarget } from '../target/request-target.js';

export interface Identity {
  /** `oauth-client`: an OAuth client acting for itself (client_credentials), never an operator of the same name. */
  method: 'oauth' | 'oauth-client' | 'api-key' | 'api-session' | 'external-jwt';
  /** The configured name of the external identity provider whose token this is (external-jwt only). */
  issuer?: string;
  user?: string;
  clientId?: string;
  scope?: string;
  teams?: readonly string[];
  organizations?: readonly string[];
  features?: readonly string[];
  apiKeyId?: string;
  section?: string;
  access?: 'read' | 'write';
}

/** The request as it will be forwarded: every decision is made on these values and nothing else. */
export interface AuthRequest {
  method: string;
  target: RequestTarget;
  headers: IncomingHttpHeaders;
  rawHeaders: readonly string[];
}

export interface Attribution extends AuthorizationSubject {
  kind: 'identity';
  identity: Identity;
  /** What the session stage checks is still live. */
  credential: Credential;
  /** The path to forward when the authenticator rewrites it (an API key swapped or removed). */
  forwardPath?: string;
}

/** How specific a declined credential's denial is: the most specific one is answered when all decline. */
export const DeclineSpecificity = {
  /** No credential of this authenticator's kind was presented. */
  absent: 0,
  /** A credential in another scheme than this authenticator's (Basic where Bearer is expected). */
  otherScheme: 1,
  /** A credential of this authenticator's kind that it cannot attribute to anything it issued or trusts. */
  unattributable: 2,
} as const;

export interface Decline {
  kind: 'decline';
  specificity: number;
  denial?: Denial;
}

export const ABSENT: Decline = Object.freeze({ kind: 'decline', specificity: DeclineSpecificity.absent });

export function decline(specificity: number, denial: Denial): Decline {
  return { kind: 'decline', specificity, denial };
}

export type AuthOutcome = Attribution | Denial | Decline;

export interface Authenticator {
  readonly id: string;
  authenticate(request: AuthRequest): AuthOutcome | Promise<AuthOutcome>;
}

/** How many times a header occurs on the wire (Node keeps only the first of some repeated headers). */
export function headerCount(rawHeaders: readonly string[], lowerCaseName: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName) count++;
  }
  return count;
}
