// Runs a route's authenticators in order: the first that attributes or denies decides. When all of them
// decline, the most specific denial among their declines is the answer; with none, the request simply carried
// no credential we take (401 credentials_missing) or one in a scheme no authenticator here speaks.

import { bearerDenial, type Denial } from '../respond/errors.js';
import type { Attribution, AuthRequest, Authenticator, Decline } from './contract.js';

export type ChainOutcome = Attribution | Denial;

export function authenticateWith(authenticators: readonly Authenticator[], request: AuthRequest): ChainOutcome | Promise<ChainOutcome> {
  let best: Decline | null = null;
  const next = (index: number): ChainOutcome | Promise<ChainOutcome> => {
    for (let i = index; i < authenticators.length; i++) {
      const outcome = authenticators[i]!.authenticate(request);
      if (outcome instanceof Promise) {
        return outcome.then((settled) => {
          if (settled.kind !== 'decline') return settled;
          best = moreSpecific(best, settled);
          return next(i + 1);
        });
      }
      if (outcome.kind !== 'decline') return outcome;
      best = moreSpecific(best, outcome);
    }
    return best?.denial ?? noCredential(request);
  };
  return next(0);
}

/** The earlier of two equally specific declines wins, so the route's order breaks ties. */
function moreSpecific(current: Decline | null, candidate: Decline): Decline {
  if (candidate.denial === undefined) return current ?? candidate;
  return current?.denial !== undefined && current.specificity >= candidate.specificity ? current : candidate;
}

function noCredential(request: AuthRequest): Denial {
  return bearerDenial(request.headers.authorization === undefined ? 'credentials_missing' : 'scheme_unsupported');
}
