// The PCR-360 face, built when the config has a `pcr` section: the API-key authenticator, the login and logout
// endpoints, error rendering in the client's output format, and masking of keys in logged paths.

import type { PcrFace, Runtime, Services } from '../proxy/runtime.js';
import { PcrApiKeyAuthenticator, type PcrContext } from './authenticator.js';
import { ApiKeyIndex } from './keys.js';
import { handleLogin, handleLogout, sendPcrDenial, type LoginContext } from './login.js';
import { maskPcrPath, parsePcrPath } from './paths.js';
import { SessionTokens } from './session-tokens.js';
import { SessionTracker } from './session-tracker.js';

export const SESSION_TOKEN_AUDIENCE_SUFFIX = '#pcr-session';

export interface PcrServices extends Pick<Services, 'store' | 'clock' | 'logger' | 'revocations' | 'verifier'> {
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
  const loginContext: LoginContext = { ...context, store: services.store, verifier: services.verifier };
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
          const handler = kind === 'login' ? handleLogin : handleLogout;
          handler(req, res, loginContext, target.key, target.output).then(
            (outcome) => {
              record.reason = outcome.reason;
              record.outcome = outcome.status === 200 ? 'own' : 'denied';
              services.onLogin?.({ ...outcome, kind }, req.socket.remoteAddress ?? '');
            },
            (error: unknown) => {
              services.logger.error({ err: error }, 'login failed unexpectedly');
              record.outcome = 'error';
              record.reason = 'internal_error';
              sendPcrDenial(res, { kind: 'denial', reason: 'internal_error', face: 'pcr', pcrOutput: 'json' });
            },
          );
        },
      };
    },
    sendDenial: sendPcrDenial,
    maskPath: (path) => maskPcrPath(path, pcr.pathPrefix),
  };
}
