// The one place that turns a refusal into the answer a client sees, in the wire format of the face it spoke to:
// RFC 6750 JSON with a Bearer challenge, the PCR-360 output formats, RFC 6749 §5.2 for the token endpoint, the
// admin API's JSON, and a raw HTTP reply written straight to a socket (before a protocol upgrade, or for a
// request Node could not parse). Status, message and RFC 6750 code come from the reason table.

import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { OAuthError } from '../errors/oauth-error.js';
import { REASONS, type DenialReason } from '../errors/reasons.js';
import { sendJson } from './json.js';
import { sendPcr, type PcrOutput } from './pcr-formats.js';

/** How a denial is written: the face a request spoke to picks the style, this module writes it. */
export type DenialStyle = { kind: 'bearer' } | { kind: 'pcr'; output: PcrOutput };

export const BEARER_STYLE: DenialStyle = Object.freeze({ kind: 'bearer' });

export interface Denial {
  kind: 'denial';
  reason: DenialReason;
  style: DenialStyle;
  headers?: Record<string, string>;
}

export function bearerDenial(reason: DenialReason, headers?: Record<string, string>): Denial {
  return headers ? { kind: 'denial', reason, style: BEARER_STYLE, headers } : { kind: 'denial', reason, style: BEARER_STYLE };
}

export function sendDenial(res: ServerResponse, denial: Denial): void {
  if (denial.style.kind === 'pcr') sendPcrDenial(res, denial.reason, denial.style.output, denial.headers);
  else sendBearerDenial(res, denial.reason, denial.headers);
}

// RFC 6750 §3: the error description is a quoted-string of printable ASCII without `"` or `\`.
function quoted(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}

export function bearerChallenge(reason: DenialReason, realm: string): string {
  const spec = REASONS[reason];
  if (!('bearerError' in spec)) return `Bearer realm="${quoted(realm)}"`;
  return `Bearer realm="${quoted(realm)}", error="${spec.bearerError}", error_description="${quoted(spec.message)}"`;
}

/** RFC 6750: status, challenge and error body, with our reason id beside the error code. */
function sendBearerDenial(res: ServerResponse, reason: DenialReason, extraHeaders: Record<string, string> = {}): void {
  const spec = REASONS[reason];
  const headers: Record<string, string> = { ...extraHeaders };
  const challenged =
    spec.status === 401 ||
    (spec.status === 403 && 'bearerError' in spec) ||
    (spec.status === 400 && 'bearerError' in spec && spec.bearerError === 'invalid_request' && reason.startsWith('authorization'));
  if (challenged) headers['www-authenticate'] = bearerChallenge(reason, 'portcullis');
  sendJson(res, spec.status, { error: 'bearerError' in spec ? spec.bearerError : errorWord(spec.status), error_description: spec.message, reason }, headers);
}

/** The PCR-360 error document, in the output format the client asked for. */
function sendPcrDenial(res: ServerResponse, reason: DenialReason, output: PcrOutput, extraHeaders: Record<string, string> = {}): void {
  const spec = REASONS[reason];
  const headers: Record<string, string> = { ...extraHeaders };
  if (spec.status === 401) headers['www-authenticate'] = 'PCR-AUTH-TOKEN realm="portcullis"';
  sendPcr(res, spec.status, output, { status: 'error', code: spec.status, error: reason, message: spec.message }, headers);
}

/** RFC 6749 §5.2: the error code and a description that is safe to show; the finer reason stays in our logs. */
export function sendOAuthError(res: ServerResponse, error: OAuthError): void {
  sendJson(res, error.status, { error: error.code, error_description: error.description }, error.headers);
}

/** A plain JSON error body (the admin API, the JWKS endpoint): a short code and, where it helps, what to do. */
export function sendPlainError(res: ServerResponse, status: number, error: string, description?: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, description === undefined ? { error } : { error, error_description: description }, headers);
}

/** A whole HTTP/1.1 response as text, for sockets that have no ServerResponse; the connection closes after it. */
export function rawReply(status: number, body: Record<string, string>, extraHeaders = ''): string {
  const text = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n${extraHeaders}\r\n${text}`
  );
}

/** A denial answered on a raw socket, before a protocol upgrade: JSON whatever the face, with a challenge on 401. */
export function rawDenial(reason: DenialReason): string {
  const spec = REASONS[reason];
  const challenge = spec.status === 401 ? `www-authenticate: Bearer realm="portcullis"\r\n` : '';
  return rawReply(spec.status, { error: 'bearerError' in spec ? spec.bearerError : 'request_refused', error_description: spec.message, reason }, challenge);
}

function errorWord(status: number): string {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 413:
      return 'payload_too_large';
    case 429:
      return 'too_many_requests';
    case 502:
      return 'bad_gateway';
    case 503:
      return 'service_unavailable';
    case 504:
      return 'gateway_timeout';
    default:
      return status >= 500 ? 'server_error' : 'invalid_request';
  }
}
