// Authenticates the OAuth client of a token request: HTTP Basic (RFC 6749 §2.3.1) or client_id/client_secret in
// the body, never both. Per §2.3.1 the id and secret are form-encoded before Base64, so a secret holding ":" or
// "%" arrives as %3A / %25; many clients skip that encoding, so a secret that decodes differently is also tried
// as sent. The id is everything before the first ":", the secret everything after it.

import type { IncomingHttpHeaders } from 'node:http';
import { invalidClient, invalidRequest } from '../../errors/oauth-error.js';
import type { ResolvedClient } from '../../config/load.js';
import type { SecretVerifier } from '../../secrets/verifier.js';
import { formDecode } from './form.js';

export interface PresentedClient {
  id: string;
  /** Candidate readings of the secret, most standard first. */
  secrets: string[];
  via: 'basic' | 'body';
}

const BASIC = /^[Bb][Aa][Ss][Ii][Cc] +([A-Za-z0-9+/]+={0,2})$/;

export function presentedClient(headers: IncomingHttpHeaders, authorizationCount: number, params: Map<string, string>): PresentedClient {
  const header = headers.authorization;
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (authorizationCount > 1) throw invalidRequest('more than one Authorization header was sent');
  if (header !== undefined) {
    // Some client libraries repeat the client id in the body next to Basic credentials; that alone is not a
    // second authentication method, so it is accepted when it names the same client. A secret in the body, or a
    // different id, is (RFC 6749 §2.3: one method per request).
    if (bodySecret !== undefined) {
      throw invalidRequest('client credentials were sent both in the Authorization header and in the body');
    }
    const match = BASIC.exec(header);
    if (match === null) throw invalidClient('client_auth_scheme_unsupported');
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw invalidClient('client_auth_malformed');
    const rawId = decoded.slice(0, colon);
    const rawSecret = decoded.slice(colon + 1);
    const id = formDecode(rawId) ?? rawId;
    if (bodyId !== undefined && bodyId !== id && bodyId !== rawId) {
      throw invalidRequest('the client_id in the body does not match the Authorization header');
    }
    const decodedSecret = formDecode(rawSecret);
    const secrets = decodedSecret === null || decodedSecret === rawSecret ? [rawSecret] : [decodedSecret, rawSecret];
    return { id, secrets, via: 'basic' };
  }
  if (bodyId === undefined) throw invalidClient('client_credentials_missing');
  if (bodySecret === undefined) throw invalidClient('client_secret_missing');
  return { id: bodyId, secrets: [bodySecret], via: 'body' };
}

export async function authenticateClient(
  presented: PresentedClient,
  clients: ReadonlyMap<string, ResolvedClient>,
  verifier: SecretVerifier,
): Promise<ResolvedClient> {
  const client = clients.get(presented.id);
  for (const secret of presented.secrets) {
    if (secret.length > 1024) break;
    if (await verifier.verify(secret, client?.secret ?? null)) return client!;
  }
  throw invalidClient(client ? 'client_secret_invalid' : 'client_unknown');
}
