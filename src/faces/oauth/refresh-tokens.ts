// Refresh tokens are opaque to clients: "<family id>.<256 random bits>". Only a SHA-256 of the whole token is
// stored. The family id in front lets the endpoint check which client the token belongs to before redeeming it,
// so a token presented by the wrong client is refused without being consumed.

import { createHash, randomBytes } from 'node:crypto';

const FORMAT = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export function newFamilyId(): string {
  return randomBytes(16).toString('base64url');
}

export function newRefreshToken(familyId: string): { token: string; hash: string } {
  const token = `${familyId}.${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The family id of a well-formed refresh token, or null for anything we could not have issued. */
export function refreshTokenFamily(token: string): string | null {
  const match = FORMAT.exec(token);
  return match ? (match[1] as string) : null;
}
