// What introspection says about a PCR-360 session token: live exactly when a request carrying it with its key
// would be let in right now (key known and unexpired with token authentication, API user still on the key and
// not past their session expiry, session neither logged out nor idle nor past its lifetime). The scope names what
// the key may do, one `section:read` / `section:write` per permission.

import type { TokenDescription } from '../../pipeline/face.js';
import type { Liveness } from '../../session/liveness.js';
import type { SessionRecord, Store } from '../../store/store.js';
import type { PcrContext } from './api-key-authenticator.js';
import type { ResolvedApiKey } from '../../config/load.js';

export type PcrTokenDescriber = Pick<PcrContext, 'pcr' | 'keys' | 'users' | 'sessionTokens' | 'clock'> & {
  liveness: Liveness;
  store: Store;
  issuer: string;
};

export async function describePcrSessionToken(token: string, context: PcrTokenDescriber): Promise<TokenDescription | null> {
  const verified = context.sessionTokens.verify(token);
  if (!verified.ok) return null;
  const { claims } = verified;
  const now = context.clock.now();
  const key = context.keys.byId(claims.key);
  if (key === undefined || !key.tokenAuth || (key.expiresAt !== undefined && now >= key.expiresAt)) return null;
  const user = context.users.get(claims.sub);
  if (user === undefined || !user.keys.includes(key.id) || (user.sessionExpiresAt !== undefined && now >= user.sessionExpiresAt)) return null;
  const verdict = await context.liveness.check({ kind: 'pcr-session', sessionId: claims.sid });
  if (!verdict.live) return null;
  const session = await context.store.getSession(claims.sid, now);
  if (session === null) return null;
  const ends = sessionEnd(session);
  return {
    token_type: 'pcr_session',
    client_id: key.id,
    username: user.login,
    sub: user.login,
    scope: scopeOf(key, context.pcr.sections),
    ...(ends === null ? {} : { exp: Math.ceil(ends / 1000) }),
    iat: Math.floor(session.createdAt / 1000),
    iss: context.issuer,
  };
}

/** When the session ends if nothing extends it: its lifetime, or its inactivity limit from the last recorded use. */
function sessionEnd(session: SessionRecord): number | null {
  const idleEnd = session.idleTimeoutMs > 0 ? session.lastActivity + session.idleTimeoutMs : null;
  if (idleEnd === null) return session.expiresAt;
  return session.expiresAt === null ? idleEnd : Math.min(idleEnd, session.expiresAt);
}

function scopeOf(key: ResolvedApiKey, sections: readonly string[]): string {
  const granted: string[] = [];
  for (const section of sections) {
    if (key.readSections.has(section)) granted.push(`${section}:read`);
    if (key.writeSections.has(section)) granted.push(`${section}:write`);
  }
  return granted.join(' ');
}
