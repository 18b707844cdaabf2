// What the token and revocation endpoints share: they take a POST with an application/x-www-form-urlencoded body
// of bounded size, parsed into its parameters, every violation an OAuth error with its own reason; and they
// answer whatever went wrong as an OAuth error, never with internals.

import type { IncomingMessage } from 'node:http';
import { OAuthError, invalidRequest } from '../../errors/oauth-error.js';
import { BodyTooLargeError, readBody } from '../../http/body.js';
import type { Logger } from '../../log/logger.js';
import { StoreUnavailableError } from '../../store/store.js';
import { parseTokenForm } from './form.js';

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;.*)?$/i;

export async function readOAuthForm(req: IncomingMessage, maxBodyBytes: number, endpoint: string): Promise<Map<string, string>> {
  if (req.method !== 'POST') {
    throw new OAuthError('invalid_request', `use POST for the ${endpoint} endpoint`, 'method_not_allowed', { status: 405, headers: { allow: 'POST' } });
  }
  const contentType = req.headers['content-type'];
  if (contentType === undefined || !FORM_TYPE.test(contentType)) {
    throw invalidRequest('the body must be application/x-www-form-urlencoded', 'content_type_invalid');
  }
  let body: Buffer;
  try {
    body = await readBody(req, maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      throw new OAuthError('invalid_request', 'the request body is too large', 'body_too_large', { status: 413, headers: { connection: 'close' } });
    }
    throw invalidRequest('the request body could not be read', 'body_unreadable');
  }
  return parseTokenForm(body);
}

/**
 * The OAuth error to answer `error` with: itself, 503 for a store outage, and for anything else (our fault) a bare
 * server_error, logged for operators.
 */
export function asOAuthError(error: unknown, logger: Logger, endpoint: string): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof StoreUnavailableError) {
    return new OAuthError('temporarily_unavailable', 'the token store is unavailable; try again shortly', 'store_unavailable', { headers: { 'retry-after': '1' } });
  }
  logger.error({ err: error }, `${endpoint} request failed unexpectedly`);
  return new OAuthError('server_error', 'the request could not be processed', 'internal_error');
}
