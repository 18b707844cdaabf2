// The session stage: one answer to "is this credential still live?" for every kind of credential the proxy
// issues — access tokens (revoked themselves or through their grant), PCR-360 sessions (logged out, idle, past
// their lifetime) and refresh-token families. The pipeline asks it for every authenticated request; an
// introspection endpoint asks the same question.
//
// Access tokens: revocation events reach this process over the store's pub/sub, which cannot replay what a
// replica missed (it started later, or its subscription dropped). So the first time this process accepts a
// token, the store itself is asked whether the grant still exists and the token is not revoked; later uses of
// the same token rely on the local revocation view and cost no store round trip.

import type { DenialReason } from '../errors/reasons.js';
import { StoreUnavailableError, type SessionRecord, type Store } from '../store/store.js';
import type { AccessTokenClaims } from '../tokens/access-tokens.js';
import type { PcrSessions, SessionEnd } from './pcr-sessions.js';
import type { RevocationView } from './revocations.js';

export type Credential =
  | { kind: 'access-token'; claims: AccessTokenClaims }
  | { kind: 'pcr-session'; sessionId: string }
  | { kind: 'refresh-family'; familyId: string }
  /** A credential that lives as long as the config (or the admin) keeps it: an API key without sessions. */
  | { kind: 'standing' };

export const STANDING: Credential = Object.freeze({ kind: 'standing' });

export type LivenessVerdict =
  | { live: true; /** Called with the upstream's status once it answered: successful use extends a session. */ afterUse?: (status: number) => void }
  | { live: false; reason: DenialReason };

const LIVE: LivenessVerdict = Object.freeze({ live: true });
const TOKEN_REVOKED: LivenessVerdict = Object.freeze({ live: false, reason: 'token_revoked' });

export interface LivenessOptions {
  /** `store.failOpen.bearerRevocationCheck`: accept a token on the local view alone when the store is down. */
  failOpenForAccessTokens: boolean;
  now: () => number;
}

export class Liveness {
  /** Store checks in flight, so parallel first requests with one token ask the store once. */
  readonly #pending = new Map<object, Promise<boolean>>();

  constructor(
    private readonly store: Store,
    private readonly revocations: RevocationView,
    private readonly sessions: PcrSessions,
    private readonly options: LivenessOptions,
  ) {}

  check(credential: Credential): LivenessVerdict | Promise<LivenessVerdict> {
    switch (credential.kind) {
      case 'access-token':
        return this.#checkAccessToken(credential.claims);
      case 'pcr-session':
        return this.#checkPcrSession(credential.sessionId);
      case 'refresh-family':
        return this.#checkFamily(credential.familyId);
      case 'standing':
        return LIVE;
    }
  }

  #checkAccessToken(claims: AccessTokenClaims): LivenessVerdict | Promise<LivenessVerdict> {
    const { revocations } = this;
    if (this.#locallyRevoked(claims)) return TOKEN_REVOKED;
    if (revocations.isConfirmed(claims)) return LIVE;
    // An event may arrive while the store answers, so the local view is asked again afterwards.
    return this.#confirm(claims).then((live) => (live && !this.#locallyRevoked(claims) ? LIVE : TOKEN_REVOKED));
  }

  #locallyRevoked(claims: AccessTokenClaims): boolean {
    return this.revocations.isFamilyRevoked(claims.fid) || this.revocations.isTokenRevoked(claims.jti);
  }

  /** Whether the store still knows the token's grant unrevoked and the token itself unrevoked. */
  #confirm(claims: AccessTokenClaims): Promise<boolean> {
    const pending = this.#pending.get(claims);
    if (pending !== undefined) return pending;
    const { store, revocations } = this;
    const generation = revocations.generation;
    const at = this.options.now();
    const asked = Promise.all([store.getFamily(claims.fid, at), store.isTokenRevoked(claims.jti, at)])
      .then(([family, tokenRevoked]) => {
        // A grant the store no longer has may have been revoked before its record was lost: refused, not trusted.
        const live = family !== null && family.revokedAt === null && !tokenRevoked;
        if (live) revocations.confirm(claims, generation);
        return live;
      })
      .catch((error: unknown) => {
        // Not confirmed, so the next request asks again once the store is back.
        if (this.options.failOpenForAccessTokens && error instanceof StoreUnavailableError) return true;
        throw error;
      })
      .finally(() => this.#pending.delete(claims));
    this.#pending.set(claims, asked);
    return asked;
  }

  #checkPcrSession(sessionId: string): LivenessVerdict | Promise<LivenessVerdict> {
    const end = this.sessions.check(sessionId, this.options.now());
    return end instanceof Promise ? end.then((settled) => this.#sessionVerdict(sessionId, settled)) : this.#sessionVerdict(sessionId, end);
  }

  #sessionVerdict(sessionId: string, end: SessionEnd | null): LivenessVerdict {
    if (end !== null) return { live: false, reason: end };
    return {
      live: true,
      // Only authenticated, authorised use that the upstream answered successfully extends the session.
      afterUse: (status) => {
        if (status < 400) this.sessions.touch(sessionId, this.options.now());
      },
    };
  }

  /** A PCR-360 session just opened here: its first use needs no store round trip and knows why it may die. */
  pcrSessionOpened(session: SessionRecord): void {
    this.sessions.remember(session, this.options.now());
  }

  /** A PCR-360 session just ended here (logout): nothing local may keep it alive. */
  pcrSessionEnded(sessionId: string): void {
    this.sessions.forget(sessionId);
  }

  async #checkFamily(familyId: string): Promise<LivenessVerdict> {
    if (this.revocations.isFamilyRevoked(familyId)) return TOKEN_REVOKED;
    const family = await this.store.getFamily(familyId, this.options.now());
    return family !== null && family.revokedAt === null ? LIVE : TOKEN_REVOKED;
  }
}
