// Every outcome the proxy reports has a stable reason id: the same id appears in the log line, in the metric
// label and in the error the client sees, and tests assert on it. This module is the one table of them all:
// denials of the pipeline and the faces (with their HTTP status and RFC 6750 code), the finer ids of the token
// endpoint, the signature checks of our own tokens, and the ids of successful own-endpoint outcomes.

export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

interface ReasonSpec {
  status: number;
  message: string;
  /** The RFC 6750 error code for the bearer face; absent where RFC 6750 says to send none (no credentials). */
  bearerError?: BearerErrorCode;
}

export const REASONS = {
  // Request shape (decided before any route is matched)
  target_form: { status: 400, message: 'the request target must be a path', bearerError: 'invalid_request' },
  path_invalid: { status: 400, message: 'the request path is not valid', bearerError: 'invalid_request' },
  path_ambiguous: { status: 400, message: 'the request path is ambiguous', bearerError: 'invalid_request' },
  path_too_long: { status: 414, message: 'the request path is too long', bearerError: 'invalid_request' },
  route_not_found: { status: 404, message: 'no route serves this path' },
  method_not_allowed: { status: 405, message: 'this method is not allowed here' },
  upgrade_not_allowed: { status: 400, message: 'this route does not accept protocol upgrades', bearerError: 'invalid_request' },
  // Plain HTTP where only HTTPS is served: on a TLS port, or a credential-bearing request on the redirect listener.
  https_required: { status: 400, message: 'this request must be sent over https', bearerError: 'invalid_request' },

  // Bearer credentials
  credentials_missing: { status: 401, message: 'authentication is required' },
  authorization_malformed: { status: 400, message: 'the Authorization header is malformed', bearerError: 'invalid_request' },
  authorization_repeated: { status: 400, message: 'more than one Authorization header was sent', bearerError: 'invalid_request' },
  scheme_unsupported: { status: 401, message: 'use the Bearer authentication scheme' },
  token_malformed: { status: 401, message: 'the access token is malformed', bearerError: 'invalid_token' },
  token_header_invalid: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  token_algorithm_invalid: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  token_type_invalid: { status: 401, message: 'the token is not an access token', bearerError: 'invalid_token' },
  token_unknown_key: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  token_signature_invalid: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  token_claims_invalid: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  token_issuer_invalid: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  token_audience_invalid: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  token_expired: { status: 401, message: 'the access token expired', bearerError: 'invalid_token' },
  token_not_yet_valid: { status: 401, message: 'the access token is not valid yet', bearerError: 'invalid_token' },
  token_revoked: { status: 401, message: 'the access token was revoked', bearerError: 'invalid_token' },
  client_disabled: { status: 401, message: 'the access token is no longer valid', bearerError: 'invalid_token' },
  operator_disabled: { status: 401, message: 'the access token is no longer valid', bearerError: 'invalid_token' },
  scope_insufficient: { status: 403, message: 'the access token does not have the required scope', bearerError: 'insufficient_scope' },

  // Tokens of external identity providers (externalIssuers)
  issuer_unknown: { status: 401, message: 'the token was not issued by an accepted issuer', bearerError: 'invalid_token' },
  issuer_keys_unavailable: { status: 503, message: "the issuer's signing keys cannot be fetched; try again shortly" },
  external_token_invalid: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  external_algorithm_refused: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  external_key_unknown: { status: 401, message: 'the access token is not valid', bearerError: 'invalid_token' },
  external_token_expired: { status: 401, message: 'the access token expired', bearerError: 'invalid_token' },
  external_token_not_yet_valid: { status: 401, message: 'the access token is not valid yet', bearerError: 'invalid_token' },
  external_audience_mismatch: { status: 401, message: 'the access token is not meant for this service', bearerError: 'invalid_token' },
  external_claim_missing: { status: 401, message: 'the access token lacks a required claim', bearerError: 'invalid_token' },
  external_claims_invalid: { status: 401, message: 'the access token does not name its user in a usable form', bearerError: 'invalid_token' },

  // API keys and PCR sessions
  api_key_missing: { status: 401, message: 'an API key is required' },
  credentials_conflicting: { status: 400, message: 'send either an API key in the path or a bearer token, not both' },
  api_key_invalid: { status: 401, message: 'the API key is not valid' },
  api_key_expired: { status: 401, message: 'the API key has expired' },
  key_lacks_read: { status: 403, message: 'the API key does not allow reading this section' },
  key_lacks_write: { status: 403, message: 'the API key does not allow writing this section' },
  request_type_unknown: { status: 404, message: 'unknown request type' },
  output_unsupported: { status: 400, message: 'unsupported output format' },
  pcr_method_not_allowed: { status: 405, message: 'only GET and POST are supported' },
  session_token_missing: { status: 401, message: 'the PCR-AUTH-TOKEN header is required for this API key' },
  session_token_invalid: { status: 401, message: 'the session token is not valid' },
  session_key_mismatch: { status: 401, message: 'the session token belongs to another API key' },
  session_ended: { status: 401, message: 'the session has ended; log in again' },
  session_expired: { status: 401, message: 'the session has expired; log in again' },
  session_idle: { status: 401, message: 'the session timed out after inactivity; log in again' },
  user_disabled: { status: 401, message: 'the API user is no longer allowed; log in again' },
  login_failed: { status: 401, message: 'invalid username or password' },
  // Never answered: a header login by an API user of another key is answered as login_failed, and this id is only
  // the log line's and the metric's.
  user_not_on_key: { status: 401, message: 'invalid username or password' },
  login_headers_missing: { status: 400, message: 'PCR-AUTH-USERNAME and PCR-AUTH-PASSWORD headers are required' },
  login_method_not_allowed: { status: 405, message: 'use POST for this endpoint' },

  // Forward-auth: the sub-request of a proxy in front (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz)
  forward_auth_untrusted_peer: { status: 403, message: 'forward-auth answers only the proxies in listen.trustedProxies' },
  forward_auth_original_missing: { status: 400, message: 'the original request method and URI are missing', bearerError: 'invalid_request' },
  forward_auth_original_ambiguous: { status: 400, message: 'the original request is named more than once or in more than one way', bearerError: 'invalid_request' },
  forward_auth_method_invalid: { status: 400, message: 'the original request method is not valid', bearerError: 'invalid_request' },
  forward_auth_header_refused: { status: 400, message: 'the request carries a header only the proxy may set', bearerError: 'invalid_request' },
  forward_auth_own_endpoint: { status: 404, message: 'this path is served by Portcullis itself; route it to Portcullis directly' },
  forward_auth_path_not_rewritable: { status: 403, message: 'this request needs its path rewritten on its way upstream, which this deployment does not do' },

  // Operations
  rate_limited: { status: 429, message: 'too many failed attempts; try again later' },
  store_unavailable: { status: 503, message: 'the session store is unavailable; try again shortly' },
  upstream_unreachable: { status: 502, message: 'the upstream service could not be reached' },
  upstream_invalid_response: { status: 502, message: 'the upstream service sent an invalid response' },
  // The TLS handshake with the upstream failed: its certificate was not trusted, had expired or named another host,
  // it wanted a client certificate we did not give, or no protocol version was acceptable to both.
  upstream_tls_failed: { status: 502, message: 'the upstream service could not be reached securely' },
  upstream_timeout: { status: 504, message: 'the upstream service did not answer in time' },
  body_too_large: { status: 413, message: 'the request body is too large' },
  internal_error: { status: 500, message: 'internal error' },
} as const satisfies Record<string, ReasonSpec>;

/** A reason the pipeline or a face answers a request with; its status and message come from REASONS. */
export type DenialReason = keyof typeof REASONS;

/** Failures of a compact JWS check of one of our own tokens (a subset of the denials). */
export const JWS_FAILURES = [
  'token_malformed',
  'token_header_invalid',
  'token_algorithm_invalid',
  'token_type_invalid',
  'token_unknown_key',
  'token_signature_invalid',
  'token_claims_invalid',
  'token_issuer_invalid',
  'token_audience_invalid',
  'token_expired',
  'token_not_yet_valid',
] as const satisfies readonly DenialReason[];
export type JwsFailure = (typeof JWS_FAILURES)[number];

/**
 * Reasons of the token endpoint: the RFC 6749 §5.2 codes themselves and the finer ids that say which check failed
 * (status and wire code come from the OAuth error that carries them).
 */
export const TOKEN_ENDPOINT_REASONS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'too_many_requests',
  'content_type_invalid',
  'body_unreadable',
  'grant_type_unsupported',
  'grant_not_allowed',
  'scope_invalid',
  'operator_api_access_off',
  'refresh_token_unknown',
  'refresh_token_client_mismatch',
  'refresh_token_reused',
  'refresh_token_expired',
  'refresh_token_revoked',
  'client_authentication_failed',
  'client_auth_scheme_unsupported',
  'client_auth_malformed',
  'client_credentials_missing',
  'client_secret_missing',
  'client_secret_invalid',
  'client_unknown',
  'token_missing',
  'token_not_issued_to_client',
  'introspection_not_allowed',
  'introspection_caller_invalid',
] as const;
export type TokenEndpointReason = (typeof TOKEN_ENDPOINT_REASONS)[number];

/** Outcomes that are not refusals: what an own endpoint did, or why forwarding stopped without an answer. */
export const OUTCOME_REASONS = ['token_issued', 'token_revocation_accepted', 'token_introspected_active', 'token_introspected_inactive', 'session_created', 'session_ended_by_logout', 'client_aborted'] as const;
export type OutcomeReason = (typeof OUTCOME_REASONS)[number];

export type ReasonId = DenialReason | TokenEndpointReason | OutcomeReason;

const REASON_IDS: ReadonlySet<string> = new Set<string>([...Object.keys(REASONS), ...TOKEN_ENDPOINT_REASONS, ...OUTCOME_REASONS]);

/** The metric label of a reason: the id itself when it is in this table, "other" for anything else. */
export function reasonLabel(reason: string | null): string {
  return reason !== null && REASON_IDS.has(reason) ? reason : 'other';
}
