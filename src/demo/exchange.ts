// How a demo route reads a request and writes its answer: the JSON and form bodies both vendor dialects accept,
// and the JSON, XML and PHP-serialized outputs PCR-360 clients ask for by file extension.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody } from '../http/body.js';
import { serializePhp, toXml } from '../respond/pcr-formats.js';
import type { ReceivedRequest } from './received.js';

const MAX_BODY_BYTES = 1024 * 1024;

export const OUTPUT_FORMATS = ['json', 'xml', 'php'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** One request as a route handler sees it. */
export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  received: ReceivedRequest;
  query: URLSearchParams;
}

export type Handler = (call: Call) => void | Promise<void>;
/** Handlers by method; HEAD is served by GET (node drops the body of a HEAD response itself). */
export type MethodTable = Partial<Record<'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', Handler>>;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and parses a JSON or form body; answers the error itself and returns undefined on failure. */
export async function parseBody({ req, res, received }: Call): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_BODY_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    sendJson(res, 413, { error: 'payload_too_large', limit: MAX_BODY_BYTES, received });
    return undefined;
  }
  const text = raw.toString('utf8');
  const mime = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const looksJson = mime === '' && /^\s*[[{]/.test(text);
  if (mime === 'application/json' || mime.endsWith('+json') || looksJson) {
    if (text.trim() === '') return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      sendJson(res, 400, { error: 'invalid_json', received });
      return undefined;
    }
  }
  if (mime === '' || mime === 'application/x-www-form-urlencoded') return formToObject(new URLSearchParams(text));
  sendJson(res, 400, { error: 'unsupported_content_type', received });
  return undefined;
}

/** Repeated form fields become arrays instead of silently keeping one value. */
function formToObject(form: URLSearchParams): Record<string, string | string[]> {
  // No prototype, so a field named `__proto__` is just a field.
  const result = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of form) {
    const existing = result[key];
    if (existing === undefined) result[key] = value;
    else result[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return result;
}

export function sendBody(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: Buffer,
  extraHeaders: Record<string, string> = {},
): void {
  res.writeHead(status, { ...extraHeaders, 'content-type': contentType, 'content-length': body.length });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  sendBody(res, status, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(payload), 'utf8'));
}

export function sendFormatted(res: ServerResponse, status: number, format: OutputFormat, payload: Record<string, unknown>): void {
  if (format === 'json') sendJson(res, status, payload);
  else if (format === 'xml') sendBody(res, status, 'application/xml; charset=utf-8', Buffer.from(toXml('response', payload), 'utf8'));
  else sendBody(res, status, 'text/plain; charset=utf-8', Buffer.from(serializePhp(payload), 'utf8'));
}
