// The PCR-360 face's authenticator: the API key in the path, and, for keys with token authentication, the
// session token in PCR-AUTH-TOKEN. It decides on the normalised path and method that are forwarded, and
// rewrites the key segment so the client's key never reaches the upstream.

import type { Clock } from '../../clock.js';
import type { ResolvedApiKey, ResolvedApiUser } from '../../config/load.js';
import type { PcrConfig } from '../../config/schema.js';
import type { ReasonId } from '../../errors/reasons.js';
import { headerCount, NOT_MINE, type AuthDenial, type AuthOutcome, type AuthRequest, type Authenticator, type AuthSuccess } from '../../authenticate/contract.js';
import { errorOutput, parsePcrPath } from './paths.js';
import { keyAllows, requiredPermission, type ApiKeyIndex } from './keys.js';
import type { SessionTokens } from './session-tokens.js';
import type { SessionTracker } from '../../session/pcr-sessions.js';

export interface PcrContext {
  pcr: PcrConfig;
  keys: ApiKeyIndex;
  users: ReadonlyMap<string, ResolvedApiUser>;
  sessionTokens: SessionTokens;
  sessions: SessionTracker;
  clock: Clock;
}

export const PCR_ALLOWED_METHODS = 'GET, HEAD, POST';

export function pcrDenial(reason: ReasonId, output: string, headers?: Record<string, string>): AuthDenial {
  const denial: AuthDenial = { kind: 'denial', reason, face: 'pcr', pcrOutput: errorOutput(output) };
  if (headers) denial.headers = headers;
  return denial;
}

/** The path the upstream sees: the client's key replaced by the configured upstream key, or removed. */
export function upstreamPath(prefix: string, key: ResolvedApiKey, path: string): string {
  const afterKey = path.indexOf('/', prefix.length + 1);
  const tail = path.slice(afterKey);
  return key.upstreamKey === null ? `${prefix}${tail}` : `${prefix}/${key.upstreamKey}${tail}`;
}

/** Checks the key itself: known and not expired. */
export function liveKey(context: PcrContext, presented: string, output: string): ResolvedApiKey | AuthDenial {
  const key = context.keys.find(presented);
  if (key === undefined) return pcrDenial('api_key_invalid', output);
  if (key.expiresAt !== undefined && context.clock.now() >= key.expiresAt) return pcrDenial('api_key_expired', output);
  return key;
}

/** Whether a path carries one of the configured API keys where PCR-360 puts it. */
export function pathCarriesApiKey(context: PcrContext, path: string): boolean {
  const target = parsePcrPath(path, context.pcr.pathPrefix);
  return target !== null && context.keys.find(target.key) !== undefined;
}

export class PcrApiKeyAuthenticator implements Authenticator {
  readonly id = 'pcr-api-key' as const;

  constructor(private readonly context: PcrContext) {}

  authenticate(request: AuthRequest): AuthOutcome | Promise<AuthOutcome> {
    // A bearer credential belongs to the OAuth face, whatever the path looks like (the pipeline refuses a bearer
    // request whose path also carries one of our keys).
    if (request.headers.authorization !== undefined) return NOT_MINE;
    const { pcr } = this.context;
    const target = parsePcrPath(request.path, pcr.pathPrefix);
    if (target === null || target.kind === 'login' || target.kind === 'logout') return NOT_MINE;
    const output = target.output;
    const key = liveKey(this.context, target.key, output);
    if ('kind' in key) return key;
    const permission = requiredPermission(pcr, request.method, target);
    if (permission === 'method') return pcrDenial('pcr_method_not_allowed', output, { allow: PCR_ALLOWED_METHODS });
    if (permission === 'type') return pcrDenial('request_type_unknown', output);
    const outputAllowed = target.kind === 'report' ? output === 'html' || output === 'pdf' : (pcr.outputs as readonly string[]).includes(output);
    if (!outputAllowed) return pcrDenial('output_unsupported', output);

    const identity = {
      method: 'api-key' as 'api-key' | 'api-session',
      apiKeyId: key.id,
      section: permission.section,
      access: permission.access,
    };
    const decide = (user?: string): AuthOutcome => {
      if (!keyAllows(key, permission, pcr.sections)) return pcrDenial(permission.access === 'read' ? 'key_lacks_read' : 'key_lacks_write', output);
      const success: AuthSuccess = { kind: 'identity', identity: user === undefined ? identity : { ...identity, method: 'api-session', user }, forwardPath: upstreamPath(pcr.pathPrefix, key, request.path) };
      return success;
    };
    if (!key.tokenAuth) return decide();
    return this.#withSession(request, key, output, decide);
  }

  #withSession(request: AuthRequest, key: ResolvedApiKey, output: string, decide: (user?: string) => AuthOutcome): AuthOutcome | Promise<AuthOutcome> {
    const header = request.headers['pcr-auth-token'];
    if (header === undefined || header === '') return pcrDenial('session_token_missing', output);
    if (typeof header !== 'string' || headerCount(request.rawHeaders, 'pcr-auth-token') > 1) return pcrDenial('session_token_invalid', output);
    const verified = this.context.sessionTokens.verify(header.trim());
    if (!verified.ok) return pcrDenial(verified.reason === 'token_expired' ? 'session_expired' : 'session_token_invalid', output);
    const claims = verified.claims;
    if (claims.key !== key.id) return pcrDenial('session_key_mismatch', output);
    const user = this.context.users.get(claims.sub);
    const now = this.context.clock.now();
    if (user === undefined || !user.keys.includes(key.id) || (user.sessionExpiresAt !== undefined && now >= user.sessionExpiresAt)) {
      return pcrDenial('user_disabled', output);
    }
    return this.context.sessions.check(claims.sid, now).then((verdict) => {
      if (!verdict.ok) return pcrDenial(verdict.reason, output);
      const outcome = decide(user.login);
      if (outcome.kind === 'identity') {
        // Only authenticated, authorised use that the upstream answered successfully extends the session.
        outcome.afterResponse = (status) => {
          if (status < 400) this.context.sessions.touch(claims.sid, this.context.clock.now());
        };
      }
      return outcome;
    });
  }
}
