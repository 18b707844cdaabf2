// The PCR-360 face's authenticator: the API key in the path, and, for keys with token authentication, the
// session token in PCR-AUTH-TOKEN. It decides on the normalised path and method that are forwarded, and
// rewrites the key segment so the client's key never reaches the upstream. Whether the session is still live
// is the session stage's question, and whether the key may read or write the section the authorize stage's.

import type { Clock } from '../../clock.js';
import type { ResolvedApiKey, ResolvedApiUser } from '../../config/load.js';
import type { PcrConfig } from '../../config/schema.js';
import type { DenialReason } from '../../errors/reasons.js';
import type { Denial } from '../../respond/errors.js';
import { STANDING, type Credential } from '../../session/liveness.js';
import { ABSENT, headerCount, type AuthOutcome, type AuthRequest, type Authenticator } from '../../authenticate/contract.js';
import { errorOutput, type PcrPathView } from './paths.js';
import { requiredPermission, type ApiKeyIndex } from './keys.js';
import type { SessionTokens } from './session-tokens.js';

export interface PcrContext {
  pcr: PcrConfig;
  keys: ApiKeyIndex;
  users: ReadonlyMap<string, ResolvedApiUser>;
  sessionTokens: SessionTokens;
  clock: Clock;
  /** This face's reading of a request target, parsed once per request. */
  pathOf: PcrPathView;
}

export const PCR_ALLOWED_METHODS = 'GET, HEAD, POST';

export function pcrDenial(reason: DenialReason, output: string, headers?: Record<string, string>): Denial {
  const denial: Denial = { kind: 'denial', reason, style: { kind: 'pcr', output: errorOutput(output) } };
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
export function liveKey(context: Pick<PcrContext, 'keys' | 'clock'>, presented: string, output: string): ResolvedApiKey | Denial {
  const key = context.keys.find(presented);
  if (key === undefined) return pcrDenial('api_key_invalid', output);
  if (key.expiresAt !== undefined && context.clock.now() >= key.expiresAt) return pcrDenial('api_key_expired', output);
  return key;
}

export class PcrApiKeyAuthenticator implements Authenticator {
  readonly id = 'pcr-api-key';

  constructor(private readonly context: PcrContext) {}

  authenticate(request: AuthRequest): AuthOutcome {
    // A bearer credential belongs to the OAuth face, whatever the path looks like (the authorize stage refuses a
    // bearer request whose path also carries one of our keys).
    if (request.headers.authorization !== undefined) return ABSENT;
    const { pcr } = this.context;
    const target = this.context.pathOf(request.target);
    if (target === null || target.kind === 'login' || target.kind === 'logout') return ABSENT;
    const output = target.output;
    const key = liveKey(this.context, target.key, output);
    if ('kind' in key) return key;
    const permission = requiredPermission(pcr, request.method, target);
    if (permission === 'method') return pcrDenial('pcr_method_not_allowed', output, { allow: PCR_ALLOWED_METHODS });
    if (permission === 'type') return pcrDenial('request_type_unknown', output);
    const outputAllowed = target.kind === 'report' ? output === 'html' || output === 'pdf' : (pcr.outputs as readonly string[]).includes(output);
    if (!outputAllowed) return pcrDenial('output_unsupported', output);

    let user: string | undefined;
    let credential: Credential = STANDING;
    if (key.tokenAuth) {
      const session = this.#session(request, key, output);
      if ('kind' in session) return session;
      user = session.user;
      credential = { kind: 'pcr-session', sessionId: session.sessionId };
    }
    // One literal per request, so every identity this face makes has the same shape.
    return {
      kind: 'identity',
      identity: { method: user === undefined ? 'api-key' : 'api-session', user, apiKeyId: key.id, section: permission.section, access: permission.access },
      credential,
      permission: { kind: 'section', access: permission.access, section: permission.section, readable: key.readSections, writable: key.writeSections, allSections: pcr.sections },
      carriedIn: 'path',
      denialStyle: { kind: 'pcr', output: errorOutput(output) },
      forwardPath: upstreamPath(pcr.pathPrefix, key, request.target.path),
    };
  }

  /** Keys with token authentication also need the session token of one of their API users. */
  #session(request: AuthRequest, key: ResolvedApiKey, output: string): { user: string; sessionId: string } | Denial {
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
    return { user: user.login, sessionId: claims.sid };
  }
}
