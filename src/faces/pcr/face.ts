// The PCR-360 face, built when the config has a `pcr` section: the API-key authenticator, the login and logout
// endpoints, error rendering in the client's output format, and masking of keys in logged paths.

import type { PcrFace, Runtime, Services } from '../../pipeline/runtime.js';
import { PcrApiKeyAuthenticator, pathCarriesApiKey, type PcrContext } from './api-key-authenticator.js';
import { ApiKeyIndex } from './keys.js';
import { handleLogin, handleLogout, sendPcrDenial, type LoginContext } from './login.js';
import { errorOutput, maskPcrPath, parsePcrPath } from './paths.js';
import { requestClientAddress } from '../../pipeline/own-endpoints.js';
import { StoreUnavailableError } from '../../store/store.js';
import { SessionTokens } from './session-tokens.js';
import { SessionTracker } from '../../session/pcr-sessions.js';

export const SESSION_TOKEN_AUDIENCE_SUFFIX = '#pcr-session';

export interface PcrServices extends Pick<Services, 'store' | 'clock' | 'logger' | 'revocations' | 'verifier' | 'guard'> {
  /** Shared across reloads so local session state survives a config change. */
  sessionTracker: SessionTracker;
  onLogin?: (outcome: { status: number; reason: string; user: string | null; kind: 'login' | 'logout' }, clientAddress: string) => void;
}

export function createPcrFace(runtime: Omit<Runtime, 'ownEndpoints' | 'pcr'>, services: PcrServices): PcrFace | null {
  const pcr = runtime.config.parsed.pcr;
  if (pcr === undefined) return null;
  const tokens = runtime.config.parsed.tokens;
  const context: PcrContext = {
    pcr,
    keys: new ApiKeyIndex(runtime.config.apiKeys),
    users: runtime.config.apiUsers,
    sessionTokens: new SessionTokens(
      runtime.keys,
      { issuer: tokens.issuer, audience: `${tokens.audience}${SESSION_TOKEN_AUDIENCE_SUFFIX}`, leewaySeconds: Math.floor(tokens.leeway / 1000), cacheSize: tokens.cacheSize },
      services.clock,
    ),
    sessions: services.sessionTracker,
    clock: services.clock,
  };
  const loginContext: LoginContext = { ...context, store: services.store, verifier: services.verifier, guard: services.guard };
  const authenticator = new PcrApiKeyAuthenticator(context);
  return {
    authenticator,
    context,
    ownEndpoint(path) {
      const target = parsePcrPath(path, pcr.pathPrefix);
      if (target === null || (target.kind !== 'login' && target.kind !== 'logout')) return undefined;
      const kind = target.kind;
      return {
        id: kind === 'login' ? 'pcr-login' : 'pcr-logout',
        handle(req, res, record) {
          const address = requestClientAddress(req, runtime);
          const handling =
            kind === 'login'
              ? handleLogin(req, res, loginContext, target.key, target.output, address)
              : handleLogout(req, res, loginContext, target.key, target.output);
          handling.then(
            (outcome) => {
              record.reason = outcome.reason;
              record.outcome = outcome.status === 200 ? 'own' : 'denied';
              services.onLogin?.({ ...outcome, kind }, address);
            },
            (error: unknown) => {
              const unavailable = error instanceof StoreUnavailableError;
              if (!unavailable) services.logger.error({ err: error }, 'login failed unexpectedly');
              record.outcome = 'error';
              const reason = unavailable ? 'store_unavailable' : 'internal_error';
              record.reason = reason;
              sendPcrDenial(res, { kind: 'denial', reason, face: 'pcr', pcrOutput: errorOutput(target.output) });
            },
          );
        },
      };
    },
    sendDenial: sendPcrDenial,
    carriesApiKey: (path) => pathCarriesApiKey(context, path),
    maskPath: (path) => maskPcrPath(path, pcr.pathPrefix, (segment) => context.keys.find(segment) !== undefined),
  };
}
