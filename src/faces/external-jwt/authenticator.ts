// The `external-jwt` authenticator: `Authorization: Bearer <JWT>` issued by one of the configured external
// identity providers. It reads the token's unverified `iss` and hands the token to exactly that issuer; a token
// is never tried against several issuers' keys, so a token claiming issuer A meets only A's keys and A's rules.
//
// What it declines, so that another authenticator on the route may answer (see DeclineSpecificity):
// - no Authorization header, or another scheme;
// - a token of our own issuer (`tokens.issuer`): the bearer authenticator's business, never verified here; the
//   decline ranks below the bearer authenticator's own answer so its reason wins;
// - a token naming an issuer nobody configured (401 invalid_token `issuer_unknown` when nobody claims it).
// A token of a configured issuer that fails is denied outright.
//
// The warm path comes first: the token's SHA-256 is looked up in each issuer's own cache of verified tokens (a
// handful of issuers, one map lookup each), so a token seen before costs no decoding at all. A hit in issuer A's
// cache means this very text was verified with A's keys and rules, so it is still A's token and nobody else's.

import { hash } from 'node:crypto';
import { ABSENT, decline, DeclineSpecificity, headerCount, type AuthOutcome, type AuthRequest, type Authenticator } from '../../authenticate/contract.js';
import { bearerDenial } from '../../respond/errors.js';
import type { TrustedIssuer } from './trusted-issuer.js';
import { readUnverified } from './unverified-token.js';

// RFC 6750 b64token after the scheme and one or more spaces, read the way the bearer authenticator reads it.
const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)$/;
const SCHEME_ONLY = /^[Bb][Ee][Aa][Rr][Ee][Rr](?:[ \t].*)?$/s;

const OTHER_SCHEME = decline(DeclineSpecificity.otherScheme, bearerDenial('scheme_unsupported'));
const MALFORMED = decline(DeclineSpecificity.unattributable, bearerDenial('token_malformed'));
const UNKNOWN_ISSUER = decline(DeclineSpecificity.unattributable, bearerDenial('issuer_unknown'));
const OUR_OWN_ISSUER = decline(DeclineSpecificity.otherScheme, bearerDenial('issuer_unknown'));

export class ExternalJwtAuthenticator implements Authenticator {
  readonly id = 'external-jwt';
  readonly #issuerList: readonly TrustedIssuer[];

  constructor(
    /** The configured issuers by their exact `iss` value. */
    private readonly issuers: ReadonlyMap<string, TrustedIssuer>,
    private readonly ownIssuer: string,
  ) {
    this.#issuerList = [...issuers.values()];
  }

  authenticate(request: AuthRequest): AuthOutcome | Promise<AuthOutcome> {
    const header = request.headers.authorization;
    if (header === undefined) return ABSENT;
    if (headerCount(request.rawHeaders, 'authorization') > 1) return bearerDenial('authorization_repeated');
    const match = BEARER.exec(header);
    if (match === null) return SCHEME_ONLY.test(header) ? bearerDenial('authorization_malformed') : OTHER_SCHEME;
    const token = match[1] as string;
    const digest = hash('sha256', token, 'base64url');
    for (const issuer of this.#issuerList) {
      const known = issuer.verified(digest);
      if (known !== undefined) return known;
    }
    const unverified = readUnverified(token);
    if (unverified === null) return MALFORMED;
    if (unverified.iss === this.ownIssuer) return OUR_OWN_ISSUER;
    const issuer = this.issuers.get(unverified.iss);
    if (issuer === undefined) return UNKNOWN_ISSUER;
    return issuer.authenticate(token, unverified, digest);
  }
}
