// The PCR-360 face, built when the config has a `pcr` section: the API-key authenticator, the login and logout
// endpoints, masking of keys in logged paths, the check for an API key beside another credential, and
// recognition (admin revocation) and description (introspection) of its session tokens by value.

import type { Face, FaceDefinition } from '../../pipeline/face.js';
import type { OwnEndpoint } from '../../route/own-endpoint.js';
import { sendDenial } from '../../respond/errors.js';
import { StoreUnavailableError } from '../../store/store.js';
import { PcrApiKeyAuthenticator, pcrDenial, type PcrContext } from './api-key-authenticator.js';
import { ApiKeyIndex } from './keys.js';
import { handleLogin, type LoginContext, type LoginOutcome } from './login.js';
import { handleLogout } from './logout.js';
import { maskPcrPath, pcrPathView, type PcrPath } from './paths.js';
import { sessionTokensFor } from './session-tokens.js';
import { describePcrSessionToken, type PcrTokenDescriber } from './token-description.js';

export const SESSION_TOKEN_AUDIENCE_SUFFIX = '#pcr-session';

/** The PCR-360 face as built: the plug-in contract plus its key index (for the admin grids and for tests). */
export interface PcrFaceInstance extends Face {
  readonly keyIndex: ApiKeyIndex;
}

export const pcrFace: FaceDefinition = {
  id: 'pcr',
  authenticatorIds: ['pcr-api-key'],
  create(services): PcrFaceInstance | null {
    const { config } = services;
    const pcr = config.parsed.pcr;
    if (pcr === undefined) return null;
    const tokens = config.parsed.tokens;
    const context: PcrContext = {
      pcr,
      keys: new ApiKeyIndex(config.apiKeys),
      users: config.apiUsers,
      sessionTokens: sessionTokensFor(
        services.keys,
        { issuer: tokens.issuer, audience: `${tokens.audience}${SESSION_TOKEN_AUDIENCE_SUFFIX}`, leewaySeconds: Math.floor(tokens.leeway / 1000), cacheSize: tokens.cacheSize },
        services.clock,
      ),
      clock: services.clock,
      pathOf: pcrPathView(pcr.pathPrefix),
    };
    const loginContext: LoginContext = { ...context, store: services.store, liveness: services.liveness, verifier: services.verifier, guard: services.guard };
    const describer: PcrTokenDescriber = { ...context, liveness: services.liveness, store: services.store, issuer: tokens.issuer };
    const isKey = (segment: string) => context.keys.find(segment) !== undefined;

    const sessionEndpoint = (path: Extract<PcrPath, { kind: 'login' | 'logout' }>): OwnEndpoint => ({
      id: path.kind === 'login' ? 'pcr-login' : 'pcr-logout',
      handle(req, res, report) {
        const address = services.clientAddress(req);
        const call = { req, res, context: loginContext, presentedKey: path.key, output: path.output, clientAddress: address };
        const handling: Promise<LoginOutcome> = path.kind === 'login' ? handleLogin(call) : handleLogout(call);
        handling.then(
          (outcome) => {
            report.reason = outcome.reason;
            report.outcome = outcome.status === 200 ? 'own' : 'denied';
            services.onOutcome({ endpoint: this.id, status: outcome.status, reason: outcome.reason, user: outcome.user });
          },
          (error: unknown) => {
            const unavailable = error instanceof StoreUnavailableError;
            if (!unavailable) services.logger.error({ err: error }, 'login failed unexpectedly');
            const reason = unavailable ? 'store_unavailable' : 'internal_error';
            report.outcome = 'error';
            report.reason = reason;
            sendDenial(res, pcrDenial(reason, path.output));
          },
        );
      },
    });

    return {
      id: 'pcr',
      keyIndex: context.keys,
      authenticators: [new PcrApiKeyAuthenticator(context)],
      ownEndpointAt(target) {
        const path = context.pathOf(target);
        return path !== null && (path.kind === 'login' || path.kind === 'logout') ? sessionEndpoint(path) : undefined;
      },
      maskPath: (path, target) => maskPcrPath(path, pcr.pathPrefix, context.pathOf(target), isKey),
      pathCarriesCredential(target) {
        const path = context.pathOf(target);
        return path !== null && context.keys.find(path.key) !== undefined;
      },
      recognizeToken(token) {
        const session = context.sessionTokens.verify(token);
        return session.ok ? { credential: { kind: 'pcr-session', sessionId: session.claims.sid }, expiresAt: session.claims.exp * 1000 } : null;
      },
      describeToken: (token) => describePcrSessionToken(token, describer),
      tokenCaches: { session: context.sessionTokens.cache },
    };
  },
};
