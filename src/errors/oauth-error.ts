// Errors of the token endpoint, named after their RFC 6749 §5.2 codes. Each carries its HTTP status and a
// description that is safe to show; anything else thrown while serving a token request becomes server_error.

import type { ReasonId } from './reasons.js';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'server_error'
  | 'temporarily_unavailable'
  /** Not an RFC 6749 code: brute-force protection refusing further attempts for a while (HTTP 429). */
  | 'too_many_requests';

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  server_error: 500,
  temporarily_unavailable: 503,
  too_many_requests: 429,
};

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    /** Stable reason id for logs and metrics, finer than the OAuth code. */
    readonly reason: ReasonId = code,
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(description);
    this.status = options.status ?? STATUS[code];
    this.headers = options.headers ?? {};
  }
}

export const invalidRequest = (description: string, reason: ReasonId = 'invalid_request') => new OAuthError('invalid_request', description, reason);
export const invalidClient = (reason: ReasonId = 'client_authentication_failed') =>
  new OAuthError('invalid_client', 'client authentication failed', reason, {
    headers: { 'www-authenticate': 'Basic realm="portcullis", charset="UTF-8"' },
  });
export const invalidGrant = (description: string, reason: ReasonId = 'invalid_grant') => new OAuthError('invalid_grant', description, reason);
