// The OAuth face's authenticator: `Authorization: Bearer <access token>` (RFC 6750 §2.1). It verifies the token
// (cached), then checks what may have changed since it was issued: revocation of the token or its grant, and
// whether the client and operator still exist and still have API access in the running config.

import type { AccessTokens } from '../tokens/access-tokens.js';
import type { RevocationView } from '../tokens/revocations.js';
import type { ResolvedClient, ResolvedOperator } from '../config/load.js';
import { bearerDenial, headerCount, NOT_MINE, type AuthOutcome, type AuthRequest, type Authenticator } from './authenticator.js';

// RFC 6750 b64token after the scheme and one or more spaces; tabs and other whitespace are malformed.
const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)$/;
const SCHEME_ONLY = /^[Bb][Ee][Aa][Rr][Ee][Rr](?:[ \t].*)?$/s;

export interface BearerContext {
  accessTokens: AccessTokens;
  revocations: RevocationView;
  clients: ReadonlyMap<string, ResolvedClient>;
  operators: ReadonlyMap<string, ResolvedOperator>;
  requiredScope: string;
}

export class BearerAuthenticator implements Authenticator {
  readonly id = 'bearer' as const;

  constructor(private readonly context: BearerContext) {}

  authenticate(request: AuthRequest): AuthOutcome {
    const header = request.headers.authorization;
    if (header === undefined) return NOT_MINE;
    if (headerCount(request.rawHeaders, 'authorization') > 1) return bearerDenial('authorization_repeated');
    const match = BEARER.exec(header);
    if (match === null) {
      // Another scheme (Basic, Digest...) is not ours; a Bearer header we cannot read is a malformed request.
      return SCHEME_ONLY.test(header) ? bearerDenial('authorization_malformed') : NOT_MINE;
    }
    const { accessTokens, revocations, clients, operators, requiredScope } = this.context;
    const checked = accessTokens.verify(match[1] as string);
    if (!checked.ok) return bearerDenial(checked.reason);
    const claims = checked.claims;
    if (revocations.isFamilyRevoked(claims.fid) || revocations.isTokenRevoked(claims.jti)) return bearerDenial('token_revoked');
    if (!clients.has(claims.client_id)) return bearerDenial('client_disabled');
    const operator = operators.get(claims.sub);
    if (operator === undefined || !operator.apiAccess) return bearerDenial('operator_disabled');
    if (!hasScope(claims.scope, requiredScope)) return bearerDenial('scope_insufficient');
    return {
      kind: 'identity',
      identity: {
        method: 'oauth',
        user: operator.login,
        clientId: claims.client_id,
        scope: claims.scope,
        teams: operator.teams,
        organizations: operator.organizations,
        features: operator.features,
      },
    };
  }
}

function hasScope(granted: string, required: string): boolean {
  if (granted === required) return true;
  return granted.split(' ').includes(required);
}
