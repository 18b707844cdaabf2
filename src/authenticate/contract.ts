// The contract every authenticator fulfils. Authenticators are tried in the order a route lists them: the
// first that recognises the request's credential decides (an identity, or a denial that stops the request);
// one that does not recognise it answers NOT_MINE and the next one is asked.

import type { IncomingHttpHeaders } from 'node:http';
import type { AuthenticatorId } from '../config/schema.js';
import type { ReasonId } from '../errors/reasons.js';

export interface Identity {
  method: 'oauth' | 'api-key' | 'api-session';
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
  /** Normalised path. */
  path: string;
  /** Query string, '' or starting with '?'. */
  search: string;
  headers: IncomingHttpHeaders;
  rawHeaders: readonly string[];
}

export interface AuthSuccess {
  kind: 'identity';
  identity: Identity;
  /** The path to forward when the authenticator rewrites it (an API key swapped or removed). */
  forwardPath?: string;
  /** Called once the upstream answered, with its status; used to extend sessions only on successful use. */
  afterResponse?: (status: number) => void;
}

export interface AuthDenial {
  kind: 'denial';
  reason: ReasonId;
  /** How the error is rendered: RFC 6750 JSON for the OAuth face, the requested output format for PCR-360. */
  face: 'bearer' | 'pcr';
  pcrOutput?: 'json' | 'xml' | 'php';
  headers?: Record<string, string>;
}

export const NOT_MINE = { kind: 'not-mine' } as const;
export type NotMine = typeof NOT_MINE;

export type AuthOutcome = AuthSuccess | AuthDenial | NotMine;

export interface Authenticator {
  readonly id: AuthenticatorId;
  authenticate(request: AuthRequest): AuthOutcome | Promise<AuthOutcome>;
}

export function bearerDenial(reason: ReasonId, headers?: Record<string, string>): AuthDenial {
  return headers ? { kind: 'denial', reason, face: 'bearer', headers } : { kind: 'denial', reason, face: 'bearer' };
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
