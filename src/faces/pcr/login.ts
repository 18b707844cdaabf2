// Header login on the PCR-360 face: `POST PREFIX/KEY/authlogin.OUTPUT` with PCR-AUTH-USERNAME and
// PCR-AUTH-PASSWORD opens a session and returns its token. The proxy answers it itself: it never reaches the
// upstream.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedApiKey } from '../../config/load.js';
import { REASONS, type DenialReason, type ReasonId } from '../../errors/reasons.js';
import type { SecretVerifier } from '../../secrets/verifier.js';
import type { LoginGuard } from '../../protection/login-guard.js';
import type { Liveness } from '../../session/liveness.js';
import { StoreUnavailableError, type Store } from '../../store/store.js';
import { headerCount } from '../../authenticate/contract.js';
import { sendDenial } from '../../respond/errors.js';
import { liveKey, pcrDenial, type PcrContext } from './api-key-authenticator.js';
import { sendPcr, type PcrOutput } from '../../respond/pcr-formats.js';

export interface LoginContext extends PcrContext {
  store: Store;
  liveness: Pick<Liveness, 'pcrSessionOpened' | 'pcrSessionEnded'>;
  verifier: SecretVerifier;
  guard: LoginGuard;
}

export interface LoginOutcome {
  status: number;
  reason: ReasonId;
  user: string | null;
}

const MAX_CREDENTIAL_LENGTH = 1024;

/** Answers a login or logout refusal in the client's output format and says what happened. */
export function refuse(res: ServerResponse, reason: DenialReason, output: string, headers?: Record<string, string>): LoginOutcome {
  sendDenial(res, pcrDenial(reason, output, headers));
  return { status: REASONS[reason].status, reason, user: null };
}

/**
 * What login and logout check first: POST, and a live key. Neither needs a body; whatever was sent is discarded
 * so the connection stays usable. Returns the key, or the refusal already answered.
 */
export function openSessionRequest({ req, res, context, presentedKey, output }: SessionCall): ResolvedApiKey | LoginOutcome {
  req.resume();
  if (req.method !== 'POST') return refuse(res, 'login_method_not_allowed', output, { allow: 'POST' });
  const key = liveKey(context, presentedKey, output);
  return 'kind' in key ? refuse(res, key.reason, output) : key;
}

export function singleHeader(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  if (typeof value !== 'string' || headerCount(req.rawHeaders, name) !== 1) return null;
  return value.length > MAX_CREDENTIAL_LENGTH ? null : value;
}

/** The session limits for a key: its own override, else the global ones. 0 means no limit. */
export function sessionLimits(context: PcrContext, key: ResolvedApiKey): { lifetimeSeconds: number; activitySeconds: number } {
  return {
    lifetimeSeconds: key.sessions?.lifetimeSeconds ?? context.pcr.sessions.lifetimeSeconds,
    activitySeconds: key.sessions?.activitySeconds ?? context.pcr.sessions.activitySeconds,
  };
}

/** One call of login or logout: the request, its answer, and what the path said. */
export interface SessionCall {
  req: IncomingMessage;
  res: ServerResponse;
  context: LoginContext;
  presentedKey: string;
  output: string;
  clientAddress: string;
}

export async function handleLogin(call: SessionCall): Promise<LoginOutcome> {
  const { req, res, context, output, clientAddress } = call;
  const key = openSessionRequest(call);
  if (!('id' in key)) return key;
  const deny = (reason: DenialReason, headers?: Record<string, string>): LoginOutcome => refuse(res, reason, output, headers);
  if (output !== 'json' && output !== 'xml' && output !== 'php') return deny('output_unsupported');
  const username = singleHeader(req, 'pcr-auth-username');
  const password = singleHeader(req, 'pcr-auth-password');
  if (username === null || password === null || username === '' || password === '') return deny('login_headers_missing');
  const verdict = await context.guard.check('pcr', username, clientAddress);
  if (!verdict.allowed) return deny('rate_limited', { 'retry-after': String(verdict.retryAfterSeconds) });
  const user = context.users.get(username);
  const member = user !== undefined && user.keys.includes(key.id);
  const expiredAt = (at: number) => member && user.sessionExpiresAt !== undefined && at >= user.sessionExpiresAt;
  // An expired user is refused whatever the password, so a remembered success must not answer its right password
  // faster than a wrong one.
  const passwordOk = await context.verifier.verify(password, member ? user.password : null, { rememberSuccess: !expiredAt(context.clock.now()) });
  const now = context.clock.now();
  const expired = expiredAt(now);
  if (!member || !passwordOk || expired) {
    // One answer (status, headers, body) for an unknown user, a user of another key, a wrong password and a user
    // past its session expiry date: nothing tells which logins exist, which are on this key or which passwords
    // are right. Each counts as a failed login, an expired user's right password too, so the lockout sequence
    // tells nothing either; the real reason is only the log line's and the metric's.
    const reason: DenialReason = !member ? (user === undefined ? 'login_failed' : 'user_not_on_key') : !passwordOk ? 'login_failed' : 'user_disabled';
    await context.guard.failed('pcr', username, clientAddress);
    return { ...deny('login_failed'), reason, user: username };
  }
  await context.guard.succeeded('pcr', username);

  const limits = sessionLimits(context, key);
  const caps = [limits.lifetimeSeconds > 0 ? now + limits.lifetimeSeconds * 1000 : null, user.sessionExpiresAt ?? null, key.expiresAt ?? null].filter(
    (t): t is number => t !== null,
  );
  const expiresAt = caps.length > 0 ? Math.min(...caps) : null;
  const sessionId = randomBytes(16).toString('base64url');
  try {
    const session = { id: sessionId, keyId: key.id, user: user.login, createdAt: now, lastActivity: now, expiresAt, idleTimeoutMs: limits.activitySeconds * 1000 };
    await context.store.createSession(session);
    context.liveness.pcrSessionOpened(session);
  } catch (error) {
    if (error instanceof StoreUnavailableError) return deny('store_unavailable', { 'retry-after': '1' });
    throw error;
  }
  const token = await context.sessionTokens.issue({ user: user.login, keyId: key.id, sessionId, expiresAt });
  sendPcr(res, 200, output as PcrOutput, {
    status: 'success',
    token,
    expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    inactivityTimeoutSeconds: limits.activitySeconds,
  });
  return { status: 200, reason: 'session_created', user: user.login };
}
