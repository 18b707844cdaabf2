// What every grant handler receives and returns; grants are looked up by grant_type in a Map.

import type { Clock } from '../../../clock.js';
import type { ResolvedClient, ResolvedOperator } from '../../../config/load.js';
import type { SecretVerifier } from '../../../secrets/verifier.js';
import type { Store } from '../../../store/store.js';
import type { AccessTokens } from '../../../tokens/access-tokens.js';
import { invalidRequest, OAuthError } from '../../../errors/oauth-error.js';

export interface GrantContext {
  client: ResolvedClient;
  params: ReadonlyMap<string, string>;
  operators: ReadonlyMap<string, ResolvedOperator>;
  /** The one scope this API grants ("public-api"). */
  scope: string;
  store: Store;
  clock: Clock;
  accessTokens: AccessTokens;
  verifier: SecretVerifier;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

export interface GrantResult {
  response: TokenResponse;
  /** Operator login, or the service name of a client acting for itself, for the log line. */
  subject: string;
}

export type GrantHandler = (context: GrantContext) => Promise<GrantResult>;

export function requireParam(params: ReadonlyMap<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw invalidRequest(`the "${name}" parameter is required`);
  return value;
}

/**
 * The scope a request asks for, checked against what may be granted. Absent means the default; otherwise every
 * requested scope token must be grantable (RFC 6749 §3.3), which here means exactly the API's one scope.
 */
export function checkScope(requested: string | undefined, allowed: string): string {
  if (requested === undefined) return allowed;
  const tokens = requested.split(' ').filter((t) => t !== '');
  if (tokens.length === 0 || tokens.some((t) => t !== allowed)) {
    throw new OAuthError('invalid_scope', `the only scope available is "${allowed}"`, 'scope_invalid');
  }
  return allowed;
}
