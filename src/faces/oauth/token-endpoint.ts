// POST /oauth/token: client authentication, then the grant named by grant_type. Success per RFC 6749 §5.1,
// errors per §5.2; nothing a client sends can produce a 500 with internals in it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { OAuthError, invalidRequest } from '../../errors/oauth-error.js';
import { sendJson } from '../../respond/json.js';
import { sendOAuthError } from '../../respond/errors.js';
import { headerCount } from '../../authenticate/contract.js';
import { authenticateClient, presentedClient } from './client-auth.js';
import { asOAuthError, readOAuthForm } from './request-form.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import { passwordGrant } from './grants/password.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import type { GrantContext, GrantHandler } from './grants/grant.js';
import type { LoginGuard } from '../../protection/login-guard.js';
import type { Logger } from '../../log/logger.js';
import type { ReasonId } from '../../errors/reasons.js';

const GRANTS: ReadonlyMap<string, GrantHandler> = new Map([
  ['password', passwordGrant],
  ['refresh_token', refreshTokenGrant],
  ['client_credentials', clientCredentialsGrant],
]);
const UNSUPPORTED_GRANT = `supported grant types: ${[...GRANTS.keys()].join(', ')}`;

export type TokenEndpointContext = Omit<GrantContext, 'client' | 'params'> & {
  logger: Logger;
  clients: ReadonlyMap<string, import('../../config/load.js').ResolvedClient>;
  maxBodyBytes: number;
  guard: LoginGuard;
};

/**
 * Refusals of an operator's login, all answered alike (see the password grant): each counts towards brute-force
 * protection for the username and the address. A right password of an operator without the API right counts as
 * well: were it not counted, the lockout sequence (whether attempt N+1 is answered 429) would tell a right
 * password from a wrong one as plainly as a different answer would.
 */
const PASSWORD_REFUSALS: ReadonlySet<ReasonId> = new Set(['login_failed', 'operator_api_access_off']);
/** A wrong or unknown client secret: counted for the address only, as it says nothing about any operator. */
const CLIENT_GUESSES: ReadonlySet<ReasonId> = new Set(['client_secret_invalid', 'client_unknown', 'client_auth_malformed']);

export interface TokenEndpointOutcome {
  status: number;
  reason: ReasonId;
  grantType: string | null;
  clientId: string | null;
  username: string | null;
}

export async function handleTokenRequest(
  req: IncomingMessage,
  res: ServerResponse,
  context: TokenEndpointContext,
  clientAddress: string,
): Promise<TokenEndpointOutcome> {
  let grantType: string | null = null;
  let clientId: string | null = null;
  let username: string | null = null;
  try {
    const params = await readOAuthForm(req, context.maxBodyBytes, 'token');
    grantType = params.get('grant_type') ?? null;
    username = params.get('username') ?? null;
    const presented = presentedClient(req.headers, headerCount(req.rawHeaders, 'authorization'), params);
    clientId = presented.id;
    if (grantType === null) throw invalidRequest('the "grant_type" parameter is required');
    const grant = GRANTS.get(grantType);
    const attemptedUser = grantType === 'password' ? username : null;
    const verdict = await context.guard.check('oauth', attemptedUser, clientAddress);
    if (!verdict.allowed) {
      throw new OAuthError('too_many_requests', 'too many failed attempts; try again later', 'rate_limited', {
        headers: { 'retry-after': String(verdict.retryAfterSeconds) },
      });
    }
    try {
      const client = await authenticateClient(presented, context.clients, context.verifier);
      if (grant === undefined) throw new OAuthError('unsupported_grant_type', UNSUPPORTED_GRANT, 'grant_type_unsupported');
      const result = await grant({ ...context, client, params });
      if (attemptedUser !== null) await context.guard.succeeded('oauth', attemptedUser);
      sendJson(res, 200, result.response);
      return { status: 200, reason: 'token_issued', grantType, clientId, username: result.subject };
    } catch (error) {
      if (error instanceof OAuthError && PASSWORD_REFUSALS.has(error.reason)) {
        await context.guard.failed('oauth', attemptedUser, clientAddress);
      } else if (error instanceof OAuthError && CLIENT_GUESSES.has(error.reason)) {
        await context.guard.failed('oauth', null, clientAddress);
        // A wrong client secret says nothing about the operator's password: that attempt's place is freed too.
        if (attemptedUser !== null) context.guard.finished('oauth', attemptedUser);
      } else if (attemptedUser !== null) {
        // Refused before or after the password check for another reason (scope, grant, store): no verdict on it.
        context.guard.finished('oauth', attemptedUser);
      }
      throw error;
    }
  } catch (error) {
    const oauthError = asOAuthError(error, context.logger, 'token');
    sendOAuthError(res, oauthError);
    return { status: oauthError.status, reason: oauthError.reason, grantType, clientId, username };
  }
}
