// The OAuth face's authenticator: `Authorization: Bearer <access token>` (RFC 6750 §2.1). It verifies the token
// (cached), then checks what may have changed since it was issued: revocation of the token or its grant, and
// whether the client and operator still exist and still have API access in the running config.
//
// Revocation events reach this process over the store's pub/sub, which cannot replay what a replica missed
// (it started later, or its subscription dropped). So the first time this process accepts a token, the store
// itself is asked whether the grant still exists and the token is not revoked; later uses of the same token
// rely on the local revocation view and cost no store round trip.

import type { AccessTokenClaims, AccessTokens } from '../../tokens/access-tokens.js';
import type { RevocationView } from '../../session/revocations.js';
import type { ResolvedClient, ResolvedOperator } from '../../config/load.js';
import { StoreUnavailableError, type Store } from '../../store/store.js';
import { bearerDenial, headerCount, NOT_MINE, type AuthOutcome, type AuthRequest, type Authenticator } from '../../authenticate/contract.js';

// RFC 6750 b64token after the scheme and one or more spaces; tabs and other whitespace are malformed.
const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)$/;
const SCHEME_ONLY = /^[Bb][Ee][Aa][Rr][Ee][Rr](?:[ \t].*)?$/s;

export interface BearerContext {
  accessTokens: AccessTokens;
  revocations: RevocationView;
  clients: ReadonlyMap<string, ResolvedClient>;
  operators: ReadonlyMap<string, ResolvedOperator>;
  requiredScope: string;
  /** Asked once per token per process (and again after a resync) whether its grant or the token was revoked. */
  store: Store;
  now: () => number;
  /** `store.failOpen.bearerRevocationCheck`: accept a token on the local view alone when the store is down. */
  failOpen: boolean;
}

export class BearerAuthenticator implements Authenticator {
  readonly id = 'bearer' as const;
  /** Store checks in flight, so parallel first requests with one token ask the store once. */
  readonly #pending = new Map<object, Promise<boolean>>();

  constructor(private readonly context: BearerContext) {}

  authenticate(request: AuthRequest): AuthOutcome | Promise<AuthOutcome> {
    const header = request.headers.authorization;
    if (header === undefined) return NOT_MINE;
    if (headerCount(request.rawHeaders, 'authorization') > 1) return bearerDenial('authorization_repeated');
    const match = BEARER.exec(header);
    if (match === null) {
      // Another scheme (Basic, Digest...) is not ours; a Bearer header we cannot read is a malformed request.
      return SCHEME_ONLY.test(header) ? bearerDenial('authorization_malformed') : NOT_MINE;
    }
    const { accessTokens, revocations } = this.context;
    const checked = accessTokens.verify(match[1] as string);
    if (!checked.ok) return bearerDenial(checked.reason);
    const claims = checked.claims;
    if (revocations.isFamilyRevoked(claims.fid) || revocations.isTokenRevoked(claims.jti)) return bearerDenial('token_revoked');
    // Config-only refusals come first: they need no store round trip.
    const outcome = this.#decide(claims);
    if (outcome.kind !== 'identity' || revocations.isConfirmed(claims)) return outcome;
    return this.#confirm(claims).then((live) => {
      // An event may have arrived while the store answered.
      if (!live || revocations.isFamilyRevoked(claims.fid) || revocations.isTokenRevoked(claims.jti)) return bearerDenial('token_revoked');
      return this.#decide(claims);
    });
  }

  #decide(claims: AccessTokenClaims): AuthOutcome {
    const { clients, operators, requiredScope } = this.context;
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

  /** Whether the store still knows the token's grant unrevoked and the token itself unrevoked. */
  #confirm(claims: AccessTokenClaims): Promise<boolean> {
    const pending = this.#pending.get(claims);
    if (pending !== undefined) return pending;
    const { store, revocations, now, failOpen } = this.context;
    const generation = revocations.generation;
    const at = now();
    const asked = Promise.all([store.getFamily(claims.fid, at), store.isTokenRevoked(claims.jti, at)])
      .then(([family, tokenRevoked]) => {
        // A grant the store no longer has may have been revoked before its record was lost: refused, not trusted.
        const live = family !== null && family.revokedAt === null && !tokenRevoked;
        if (live) revocations.confirm(claims, generation);
        return live;
      })
      .catch((error: unknown) => {
        // Not confirmed, so the next request asks again once the store is back.
        if (failOpen && error instanceof StoreUnavailableError) return true;
        throw error;
      })
      .finally(() => this.#pending.delete(claims));
    this.#pending.set(claims, asked);
    return asked;
  }
}

function hasScope(granted: string, required: string): boolean {
  if (granted === required) return true;
  return granted.split(' ').includes(required);
}
