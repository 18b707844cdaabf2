// The OAuth face's authenticator: `Authorization: Bearer <access token>` (RFC 6750 §2.1). It verifies the token
// (cached) and checks that the client and operator it names still exist and still have API access in the running
// config; a client's own token (client_credentials) stands for the client's current service identity. Whether
// the token is still live (revoked, grant revoked) is the session stage's question, and whether its scope
// suffices the authorize stage's.
//
// A token it cannot attribute — not a compact JWS, not our type, signed by a key we do not have — is declined
// with the denial it would give, so another bearer authenticator on the route may still claim it.

import { bearerDenial, BEARER_STYLE, type Denial } from '../../respond/errors.js';
import type { JwsFailure } from '../../errors/reasons.js';
import type { ResolvedClient, ResolvedOperator } from '../../config/load.js';
import { CLIENT_CREDENTIALS_GRANT_TYPE, type AccessTokenClaims, type AccessTokens } from '../../tokens/access-tokens.js';
import { ABSENT, decline, DeclineSpecificity, headerCount, type Attribution, type AuthOutcome, type AuthRequest, type Authenticator } from '../../authenticate/contract.js';

// RFC 6750 b64token after the scheme and one or more spaces; tabs and other whitespace are malformed.
const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)$/;
const SCHEME_ONLY = /^[Bb][Ee][Aa][Rr][Ee][Rr](?:[ \t].*)?$/s;

/** Failures that say the token is not one of ours at all, found before any key of ours was used on it. */
const UNATTRIBUTABLE: ReadonlySet<JwsFailure> = new Set(['token_malformed', 'token_header_invalid', 'token_type_invalid', 'token_issuer_invalid', 'token_unknown_key']);

const OTHER_SCHEME = decline(DeclineSpecificity.otherScheme, bearerDenial('scheme_unsupported'));

/** What the upstream is told about whoever a token stands for: an operator's or a service's attributes. */
type ForwardedAttributes = Pick<ResolvedOperator, 'teams' | 'organizations' | 'features'>;

export interface BearerContext {
  accessTokens: AccessTokens;
  clients: ReadonlyMap<string, ResolvedClient>;
  operators: ReadonlyMap<string, ResolvedOperator>;
  requiredScope: string;
}

export class BearerAuthenticator implements Authenticator {
  readonly id = 'bearer';
  /**
   * The attribution of each verified token, built once: the verified-token cache hands back the same claims object
   * for every use of a token, and the client and operator it names cannot change under this runtime (a reload
   * builds a new authenticator). Refusals are not kept, so nothing here outlives what decided it.
   */
  readonly #attributions = new WeakMap<AccessTokenClaims, Attribution>();

  constructor(private readonly context: BearerContext) {}

  authenticate(request: AuthRequest): AuthOutcome {
    const header = request.headers.authorization;
    if (header === undefined) return ABSENT;
    if (headerCount(request.rawHeaders, 'authorization') > 1) return bearerDenial('authorization_repeated');
    const match = BEARER.exec(header);
    if (match === null) {
      // Another scheme (Basic, Digest...) is not ours; a Bearer header we cannot read is a malformed request.
      return SCHEME_ONLY.test(header) ? bearerDenial('authorization_malformed') : OTHER_SCHEME;
    }
    const checked = this.context.accessTokens.verify(match[1] as string);
    if (!checked.ok) {
      const denial = bearerDenial(checked.reason);
      return UNATTRIBUTABLE.has(checked.reason) ? decline(DeclineSpecificity.unattributable, denial) : denial;
    }
    const known = this.#attributions.get(checked.claims);
    if (known !== undefined) return known;
    const outcome = this.attribute(checked.claims);
    if (outcome.kind === 'identity') this.#attributions.set(checked.claims, outcome);
    return outcome;
  }

  /** Whom verified claims stand for in the running config, or why they stand for no one (introspection asks too). */
  attribute(claims: AccessTokenClaims): Attribution | Denial {
    const { clients, operators } = this.context;
    const client = clients.get(claims.client_id);
    if (client === undefined) return bearerDenial('client_disabled');
    // The grant type claim alone decides whose token it is: a client's own token names no operator, and an
    // operator's token can never be taken for a service, even where a login equals a service name.
    if (claims.gty === CLIENT_CREDENTIALS_GRANT_TYPE) {
      // The client's identity as configured now, so switching the grant off or removing the client ends its tokens.
      const service = client.serviceIdentity;
      if (!client.allowsClientCredentials || service === undefined) return bearerDenial('client_disabled');
      return this.#identity(claims, 'oauth-client', service.name, service);
    }
    const operator = operators.get(claims.sub);
    if (operator === undefined || !operator.apiAccess) return bearerDenial('operator_disabled');
    return this.#identity(claims, 'oauth', operator.login, operator);
  }

  #identity(claims: AccessTokenClaims, method: 'oauth' | 'oauth-client', user: string, attributes: ForwardedAttributes): Attribution {
    return {
      kind: 'identity',
      identity: {
        method,
        user,
        clientId: claims.client_id,
        scope: claims.scope,
        teams: attributes.teams,
        organizations: attributes.organizations,
        features: attributes.features,
      },
      credential: { kind: 'access-token', claims },
      permission: { kind: 'scope', granted: claims.scope, required: this.context.requiredScope },
      carriedIn: 'header',
      denialStyle: BEARER_STYLE,
    };
  }
}
