// POST /oauth/revoke (RFC 7009): a client revokes one of its own tokens. It authenticates as at the token
// endpoint; a refresh token revokes its whole grant, an access token itself (and its grant where
// `oauth.revokeGrantWithAccessToken` says so). `token_type_hint` only decides which kind is tried first. An
// unknown, expired or already revoked token is answered 200 like a revoked one (§2.2), a token of another client
// is refused. Revocations are published like an admin's, so every process refuses the token from the next request.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { headerCount } from '../../authenticate/contract.js';
import { OAuthError, invalidRequest } from '../../errors/oauth-error.js';
import type { ReasonId } from '../../errors/reasons.js';
import { sendOAuthError } from '../../respond/errors.js';
import { sendJson } from '../../respond/json.js';
import { authenticateClient, presentedClient } from './client-auth.js';
import { refreshTokenFamily } from './refresh-tokens.js';
import { asOAuthError, readOAuthForm } from './request-form.js';
import type { TokenEndpointContext } from './token-endpoint.js';

export const REVOCATION_ENDPOINT_PATH = '/oauth/revoke';

export type RevocationContext = Pick<TokenEndpointContext, 'clients' | 'verifier' | 'store' | 'clock' | 'accessTokens' | 'maxBodyBytes' | 'guard' | 'logger'> & {
  revokeGrantWithAccessToken: boolean;
};

export interface RevocationOutcome {
  status: number;
  reason: ReasonId;
  clientId: string | null;
}

const notTheirs = () => new OAuthError('unauthorized_client', 'the token was not issued to this client', 'token_not_issued_to_client');

export async function handleRevocation(req: IncomingMessage, res: ServerResponse, context: RevocationContext, clientAddress: string): Promise<RevocationOutcome> {
  let clientId: string | null = null;
  try {
    const params = await readOAuthForm(req, context.maxBodyBytes, 'revocation');
    const presented = presentedClient(req.headers, headerCount(req.rawHeaders, 'authorization'), params);
    clientId = presented.id;
    const verdict = await context.guard.check('oauth', null, clientAddress);
    if (!verdict.allowed) {
      throw new OAuthError('too_many_requests', 'too many failed attempts; try again later', 'rate_limited', { headers: { 'retry-after': String(verdict.retryAfterSeconds) } });
    }
    let client;
    try {
      client = await authenticateClient(presented, context.clients, context.verifier);
    } catch (error) {
      if (error instanceof OAuthError) await context.guard.failed('oauth', null, clientAddress);
      throw error;
    }
    const token = params.get('token');
    if (token === undefined || token === '') throw invalidRequest('the "token" parameter is required', 'token_missing');
    const refreshFirst = params.get('token_type_hint') !== 'access_token';
    const kinds = refreshFirst ? [revokeRefreshToken, revokeAccessToken] : [revokeAccessToken, revokeRefreshToken];
    for (const revoke of kinds) if (await revoke(token, client.id, context)) break;
    // RFC 7009 §2.2: the client ignores the body. An empty JSON object rather than none, because client libraries
    // that read every answer as JSON (simple-oauth2) otherwise fail a revocation that worked.
    sendJson(res, 200, {}, { 'cache-control': 'no-store', pragma: 'no-cache' });
    return { status: 200, reason: 'token_revocation_accepted', clientId };
  } catch (error) {
    const oauthError = asOAuthError(error, context.logger, 'revocation');
    sendOAuthError(res, oauthError);
    return { status: oauthError.status, reason: oauthError.reason, clientId };
  }
}

/** Whether `token` is one of our refresh tokens; its grant is revoked when the client's, refused when not. */
async function revokeRefreshToken(token: string, clientId: string, context: RevocationContext): Promise<boolean> {
  const familyId = refreshTokenFamily(token);
  if (familyId === null) return false;
  const now = context.clock.now();
  const family = await context.store.getFamily(familyId, now);
  // Unknown or long gone: nothing to revoke, and no telling whether it ever existed.
  if (family === null) return true;
  if (family.clientId !== clientId) throw notTheirs();
  if (family.revokedAt === null) await context.store.revokeFamily(family.id, now);
  return true;
}

/** Whether `token` is one of our live access tokens; it is revoked when the client's, refused when not. */
async function revokeAccessToken(token: string, clientId: string, context: RevocationContext): Promise<boolean> {
  const verified = context.accessTokens.verify(token);
  // Expired, malformed or not ours: nothing that could still be used, so nothing to revoke.
  if (!verified.ok) return false;
  const { claims } = verified;
  if (claims.client_id !== clientId) throw notTheirs();
  await context.store.revokeToken(claims.jti, claims.exp * 1000);
  if (context.revokeGrantWithAccessToken) await context.store.revokeFamily(claims.fid, context.clock.now());
  return true;
}
