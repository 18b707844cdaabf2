// Turns the claims of a verified external token into the identity the upstream is told about, by the issuer's
// claim mapping. Values become header values, so only printable ASCII passes: a user claim that cannot be carried
// refuses the token (the upstream must never see a mangled or missing user), while a team, organization or scope
// value that cannot be carried is left out (it could only ever grant less).

import type { Identity } from '../../authenticate/contract.js';
import type { ExternalIssuerConfig } from '../../config/schema/external-issuers.js';

/** The same rule as configured identity attributes: printable ASCII, no comma (the list separator), no edge spaces. */
const ATTRIBUTE = /^[\x21-\x2b\x2d-\x7e]([\x20-\x2b\x2d-\x7e]*[\x21-\x2b\x2d-\x7e])?$/;
/** RFC 6749 scope tokens. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_VALUE_LENGTH = 256;

const carriable = (value: unknown): value is string => typeof value === 'string' && value.length <= MAX_VALUE_LENGTH && ATTRIBUTE.test(value);

function listClaim(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const values = Array.isArray(value) ? value : [value];
  return values.filter(carriable);
}

function scopeClaim(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const tokens = Array.isArray(value) ? value : typeof value === 'string' ? value.split(' ') : [];
  return tokens.filter((token): token is string => typeof token === 'string' && SCOPE_TOKEN.test(token)).join(' ');
}

/** The identity a verified token names, or null when its user claim is missing or cannot be carried in a header. */
export function identityOf(claims: Record<string, unknown>, issuer: ExternalIssuerConfig): Identity | null {
  const mapping = issuer.claims;
  const user = claims[mapping.user];
  if (!carriable(user)) return null;
  const identity: Identity = { method: 'external-jwt', issuer: issuer.name, user };
  if (mapping.clientId !== undefined && carriable(claims[mapping.clientId])) identity.clientId = claims[mapping.clientId] as string;
  if (mapping.teams !== undefined) {
    const teams = listClaim(claims[mapping.teams]);
    if (teams !== undefined) identity.teams = teams;
  }
  if (mapping.organizations !== undefined) {
    const organizations = listClaim(claims[mapping.organizations]);
    if (organizations !== undefined) identity.organizations = organizations;
  }
  if (mapping.scope !== undefined) {
    const scope = scopeClaim(claims[mapping.scope]);
    if (scope !== undefined) identity.scope = scope;
  }
  return identity;
}
