// POST /oauth/introspect (RFC 7662): another service asks whether a token is live and what it stands for. The
// caller authenticates as an OAuth client allowed to introspect (`introspect: true`), as at the token endpoint,
// or with an admin token as a bearer token; anyone else is refused, so the endpoint cannot be used to scan for
// tokens (§4). Every face is asked about the token in turn: access and refresh tokens, PCR-360 session tokens.
// A token that is unknown, expired, revoked, foreign, or would be refused for any other reason is answered
// `{"active": false}` and nothing more (§2.2); `token_type_hint` changes nothing, since each face recognises its
// own tokens by shape and signature.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { headerCount } from '../../authenticate/contract.js';
import type { ResolvedAdminToken, ResolvedClient } from '../../config/load.js';
import { OAuthError, invalidRequest } from '../../errors/oauth-error.js';
import type { ReasonId } from '../../errors/reasons.js';
import type { Face } from '../../pipeline/face.js';
import { sendOAuthError } from '../../respond/errors.js';
import { sendJson } from '../../respond/json.js';
import { identifyAdminToken } from '../../secrets/admin-tokens.js';
import { authenticateClient, presentedClient } from './client-auth.js';
import { asOAuthError, readOAuthForm } from './request-form.js';
import type { TokenEndpointContext } from './token-endpoint.js';

export const INTROSPECTION_ENDPOINT_PATH = '/oauth/introspect';

/** Longer than any token this proxy issues; anything longer is not one of ours and is not worth parsing. */
const MAX_TOKEN_LENGTH = 8192;

const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +(\S{1,1024})$/;

export type IntrospectionContext = Pick<TokenEndpointContext, 'clients' | 'verifier' | 'maxBodyBytes' | 'guard' | 'logger'> & {
  adminTokens: readonly ResolvedAdminToken[];
  faces(): readonly Face[];
};

export interface IntrospectionOutcome {
  status: number;
  reason: ReasonId;
  /** The calling client's id, or `admin:<name>` for an admin token. */
  caller: string | null;
}

const UNPRESENTED: ReadonlySet<ReasonId> = new Set(['client_credentials_missing', 'client_secret_missing']);

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export async function handleIntrospection(req: IncomingMessage, res: ServerResponse, context: IntrospectionContext, clientAddress: string): Promise<IntrospectionOutcome> {
  let caller: string | null = null;
  try {
    const params = await readOAuthForm(req, context.maxBodyBytes, 'introspection');
    const verdict = await context.guard.check('oauth', null, clientAddress);
    if (!verdict.allowed) {
      throw new OAuthError('too_many_requests', 'too many failed attempts; try again later', 'rate_limited', { headers: { 'retry-after': String(verdict.retryAfterSeconds) } });
    }
    caller = await authenticateCaller(req, params, context, clientAddress);
    const token = params.get('token');
    if (token === undefined || token === '') throw invalidRequest('the "token" parameter is required', 'token_missing');
    const description = token.length > MAX_TOKEN_LENGTH ? null : await describe(token, context.faces());
    if (description === null) {
      sendJson(res, 200, { active: false }, NO_STORE);
      return { status: 200, reason: 'token_introspected_inactive', caller };
    }
    sendJson(res, 200, { active: true, ...description }, NO_STORE);
    return { status: 200, reason: 'token_introspected_active', caller };
  } catch (error) {
    const oauthError = asOAuthError(error, context.logger, 'introspection');
    sendOAuthError(res, oauthError);
    return { status: oauthError.status, reason: oauthError.reason, caller };
  }
}

async function describe(token: string, faces: readonly Face[]) {
  for (const face of faces) {
    const description = await face.describeToken?.(token);
    if (description !== undefined && description !== null) return description;
  }
  return null;
}

/** Who is asking: a client allowed to introspect, or an admin; a failed attempt counts towards brute-force limits. */
async function authenticateCaller(req: IncomingMessage, params: Map<string, string>, context: IntrospectionContext, clientAddress: string): Promise<string> {
  const header = req.headers.authorization;
  const authorizationCount = headerCount(req.rawHeaders, 'authorization');
  if (header !== undefined && authorizationCount === 1 && /^bearer /i.test(header)) {
    const admin = BEARER.exec(header);
    const who = admin === null ? null : await identifyAdminToken(admin[1] as string, context.adminTokens, context.verifier);
    if (who === null) {
      await context.guard.failed('oauth', null, clientAddress);
      throw new OAuthError('invalid_client', 'client authentication failed', 'introspection_caller_invalid', {
        headers: { 'www-authenticate': 'Bearer realm="portcullis", error="invalid_token"' },
      });
    }
    return `admin:${who.name}`;
  }
  let client: ResolvedClient;
  try {
    client = await authenticateClient(presentedClient(req.headers, authorizationCount, params), context.clients, context.verifier);
  } catch (error) {
    // A secret that was presented and wrong is a guess; a request without one guessed nothing.
    if (error instanceof OAuthError && error.code === 'invalid_client' && !UNPRESENTED.has(error.reason)) await context.guard.failed('oauth', null, clientAddress);
    throw error;
  }
  if (!client.mayIntrospect) {
    throw new OAuthError('unauthorized_client', 'this client may not introspect tokens', 'introspection_not_allowed', { status: 403 });
  }
  return client.id;
}
