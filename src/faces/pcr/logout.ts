// Logout on the PCR-360 face: `POST PREFIX/KEY/authlogout.OUTPUT` with PCR-AUTH-TOKEN ends the session at once,
// on every process. The proxy answers it itself: it never reaches the upstream.

import type { DenialReason } from '../../errors/reasons.js';
import { StoreUnavailableError } from '../../store/store.js';
import { openSessionRequest, refuse, singleHeader, type LoginOutcome, type SessionCall } from './login.js';
import { sendPcr } from '../../respond/pcr-formats.js';
import { errorOutput } from './paths.js';

export async function handleLogout(call: SessionCall): Promise<LoginOutcome> {
  const { req, res, context, output } = call;
  const key = openSessionRequest(call);
  if (!('id' in key)) return key;
  const deny = (reason: DenialReason, headers?: Record<string, string>): LoginOutcome => refuse(res, reason, output, headers);
  const header = singleHeader(req, 'pcr-auth-token');
  if (header === null || header === '') return deny('session_token_missing');
  const verified = context.sessionTokens.verify(header.trim());
  if (!verified.ok) return deny('session_token_invalid');
  if (verified.claims.key !== key.id) return deny('session_key_mismatch');
  try {
    const existed = await context.store.deleteSession(verified.claims.sid);
    context.liveness.pcrSessionEnded(verified.claims.sid);
    if (!existed) return deny('session_ended');
  } catch (error) {
    if (error instanceof StoreUnavailableError) return deny('store_unavailable', { 'retry-after': '1' });
    throw error;
  }
  sendPcr(res, 200, errorOutput(output), { status: 'success', message: 'logged out' });
  return { status: 200, reason: 'session_ended_by_logout', user: verified.claims.sub };
}
