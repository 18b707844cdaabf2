// Reads what a compact JWT claims about itself before anything is verified: which issuer it names (to pick the
// one issuer whose keys may verify it) and the header members that decide whether verifying is worth a try. None
// of this is trusted: the issuer is checked again by jwtVerify with that issuer's keys, and a token that lies
// about its issuer only ever meets the keys of the issuer it named.

import { decodeJsonObject } from '../../tokens/jws.js';
import { MAX_KID_LENGTH } from './jwks-document.js';

/** Longer tokens are refused before they are decoded (our own tokens use the same bound). */
export const MAX_TOKEN_LENGTH = 8192;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface UnverifiedToken {
  iss: string;
  alg: string;
  kid: string | undefined;
  /** False for a `kid` nobody could have published (not a string, empty, huge): refused without a key fetch. */
  kidUsable: boolean;
}

/** The token's claimed issuer and header; null when it is not a compact JWS with a string `iss` and `alg`. */
export function readUnverified(token: string): UnverifiedToken | null {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return null;
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  const header = decodeJsonObject(token.slice(0, firstDot));
  const payload = decodeJsonObject(token.slice(firstDot + 1, secondDot));
  if (header === null || payload === null) return null;
  const { alg, kid } = header;
  const { iss } = payload;
  if (typeof iss !== 'string' || typeof alg !== 'string') return null;
  const kidUsable = kid === undefined || (typeof kid === 'string' && kid.length > 0 && kid.length <= MAX_KID_LENGTH);
  return { iss, alg, kid: typeof kid === 'string' ? kid : undefined, kidUsable };
}
