// Runs a route's authenticators in order: the first that attributes or denies decides. When all of them
// decline, the most specific denial among their declines is the answer; with none, the request simply carried
// no credential we take (401 credentials_missing) or one in a scheme no authenticator here speaks.

import { bearerDenial, type Denial } from '../respond/errors.js';
import type { Attribution, AuthRequest, Authenticator, Decline } from './contract.js';

export type ChainOutcome = Attribution | Denial;

export function authenticateWith(authenticators: readonly Authenticator[], request: AuthRequest): ChainOutcome | Promise<ChainOutcome> {
  return askFrom(authenticators, request, 0, null);
}

// A plain loop while authenticators answer synchronously, so a warm credential costs no closure; only an
// authenticator that answers with a promise continues the walk from its callback.
function askFrom(authenticators: readonly Authenticator[], request: AuthRequest, start: number, declined: Decline | null): ChainOutcome | Promise<ChainOutcome> {
  let best = declined;
  for (let i = start; i < authenticators.length; i++) {
    const outcome = authenticators[i]!.authenticate(request);
    if (outcome instanceof Promise) {
      const sofar = best;
      return outcome.then((settled) => (settled.kind === 'decline' ? askFrom(authenticators, request, i + 1, moreSpecific(sofar, settled)) : settled));
    }
    if (outcome.kind !== 'decline') return outcome;
    best = moreSpecific(best, outcome);
  }
  return best?.denial ?? noCredential(request);
}

/** The earlier of two equally specific declines wins, so the route's order breaks ties. */
function moreSpecific(current: Decline | null, candidate: Decline): Decline {
  if (candidate.denial === undefined) return current ?? candidate;
  return current?.denial !== undefined && current.specificity >= candidate.specificity ? current : candidate;
}

function noCredential(request: AuthRequest): Denial {
  return bearerDenial(request.headers.authorization === undefined ? 'credentials_missing' : 'scheme_unsupported');
}
