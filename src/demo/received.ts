// What the demo backend saw of a request: the identity headers the proxy forwarded and any client credential
// that got through. Every answer carries it, so a user can check the proxy's work from the response alone.

import type { IncomingMessage } from 'node:http';

export const DEFAULT_IDENTITY_HEADERS: readonly string[] = [
  'x-portcullis-auth',
  'x-portcullis-user',
  'x-portcullis-client-id',
  'x-portcullis-scope',
  'x-portcullis-teams',
  'x-portcullis-organizations',
  'x-portcullis-features',
  'x-portcullis-api-key-id',
  'x-portcullis-section',
  'x-portcullis-access',
];

export const DEFAULT_CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  'pcr-auth-token',
  'pcr-auth-username',
  'pcr-auth-password',
];

/** The entry `credentialsSeen` gets when a path segment is a client's API key rather than an upstream one. */
export const PATH_KEY_CREDENTIAL = 'api-key-in-path';

/** What the backend saw of one request; part of every response. */
export interface ReceivedRequest {
  method: string;
  /** The request target exactly as it arrived, query included. */
  path: string;
  identity: Record<string, string>;
  credentialsSeen: string[];
}

/** Which headers count as identity and as credentials, lower-cased once when the handler is built. */
export interface EchoSettings {
  identityHeaders: string[];
  credentialHeaders: string[];
  clientKeysToFlag: ((pathSegment: string) => boolean) | undefined;
}

export function describeRequest(req: IncomingMessage, settings: EchoSettings, segments: string[]): ReceivedRequest {
  const identity: Record<string, string> = {};
  for (const name of settings.identityHeaders) {
    const value = req.headers[name];
    if (value !== undefined) identity[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const credentialsSeen = settings.credentialHeaders.filter((name) => req.headers[name] !== undefined);
  const isClientKey = settings.clientKeysToFlag;
  if (isClientKey && segments.some((segment) => segment !== '' && isClientKey(segment))) {
    credentialsSeen.push(PATH_KEY_CREDENTIAL);
  }
  return { method: req.method ?? 'GET', path: req.url ?? '/', identity, credentialsSeen };
}

/** `received` as a header value: JSON with everything outside printable ASCII escaped, so node accepts it. */
export function receivedHeader(received: ReceivedRequest): string {
  return JSON.stringify(received).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
