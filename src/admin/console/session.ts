// Console sign-in sessions: a signed token in an HttpOnly cookie, made with the proxy's own signing keys (as PCR
// session tokens are), so every worker and replica can read it. It names the admin token by name and carries the
// page's CSRF token; sign-out revokes it in the store, on every process. A session only lasts while its admin
// token does: the name must still be configured, with the same secret, and the role is the one configured now.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { ResolvedAdminToken } from '../../config/load.js';
import type { AdminRole } from '../../config/schema.js';
import type { Store } from '../../store/store.js';
import type { KeyRing } from '../../tokens/keyring.js';
import { signJws, verifyJws } from '../../tokens/jws.js';

export const CONSOLE_TOKEN_TYPE = 'console-session+jwt';
export const CONSOLE_AUDIENCE_SUFFIX = '#console';

export interface ConsoleSession {
  /** The admin token's name, as audit entries name it. */
  name: string;
  role: AdminRole;
  sid: string;
  csrf: string;
  /** Seconds since the epoch. */
  exp: number;
}

export interface ConsoleSessionDeps {
  keys(): KeyRing;
  adminTokens(): readonly ResolvedAdminToken[];
  store: Store;
  clock: Clock;
  issuer(): string;
  audience(): string;
  lifetimeMs(): number;
}

/** Ties a session to the admin token's secret: replacing the secret ends the sessions made with the old one. */
const fingerprint = (token: ResolvedAdminToken): string => createHash('sha256').update(token.secret.text).digest('base64url').slice(0, 22);
const revocationId = (sid: string) => `console:${sid}`;

export class ConsoleSessions {
  constructor(private readonly deps: ConsoleSessionDeps) {}

  async issue(token: ResolvedAdminToken): Promise<{ value: string; session: ConsoleSession; maxAgeSeconds: number }> {
    const iat = Math.floor(this.deps.clock.now() / 1000);
    const maxAgeSeconds = Math.floor(this.deps.lifetimeMs() / 1000);
    const session: ConsoleSession = { name: token.name, role: token.role, sid: randomBytes(16).toString('base64url'), csrf: randomBytes(24).toString('base64url'), exp: iat + maxAgeSeconds };
    const value = await signJws(
      { sub: token.name, sid: session.sid, jti: session.sid, csrf: session.csrf, tfp: fingerprint(token), iat, exp: session.exp },
      this.deps.keys(),
      { typ: CONSOLE_TOKEN_TYPE, issuer: this.deps.issuer(), audience: this.#audience() },
    );
    return { value, session, maxAgeSeconds };
  }

  /** The live session the cookie names, or null: bad or expired token, signed out, admin token gone or changed. */
  async verify(value: string | undefined): Promise<ConsoleSession | null> {
    if (value === undefined || value.length === 0 || value.length > 4096) return null;
    const nowSeconds = Math.floor(this.deps.clock.now() / 1000);
    const result = verifyJws(value, this.deps.keys(), { typ: CONSOLE_TOKEN_TYPE, issuer: this.deps.issuer(), audience: this.#audience(), leewaySeconds: 0 }, nowSeconds);
    if (!result.ok) return null;
    const { sub, sid, csrf, tfp, exp } = result.claims;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof csrf !== 'string' || typeof tfp !== 'string' || typeof exp !== 'number') return null;
    const token = this.deps.adminTokens().find((t) => t.name === sub);
    if (token === undefined || fingerprint(token) !== tfp) return null;
    if (await this.deps.store.isTokenRevoked(revocationId(sid), this.deps.clock.now())) return null;
    return { name: token.name, role: token.role, sid, csrf, exp };
  }

  /** Ends the session on every process. */
  async end(session: ConsoleSession): Promise<void> {
    await this.deps.store.revokeToken(revocationId(session.sid), session.exp * 1000);
  }

  #audience(): string {
    return `${this.deps.audience()}${CONSOLE_AUDIENCE_SUFFIX}`;
  }
}

/** Whether a submitted CSRF token is the session's, compared in constant time. */
export function csrfMatches(session: ConsoleSession, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
