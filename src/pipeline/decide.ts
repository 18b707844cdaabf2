// The decision about one request on a matched route, as the stages make it in order: authenticate (who is
// this?), session (is the credential still live?), authorize (may it do this, and is it the only credential?).
// Plain requests and protocol upgrades share it, so both are decided exactly alike. It stays synchronous when
// every stage can answer from memory (a warm bearer token), so the hot path allocates no promise.

import { authenticateWith } from '../authenticate/chain.js';
import type { Attribution, AuthRequest } from '../authenticate/contract.js';
import { authorize } from '../authorize/authorize.js';
import { bearerDenial, type Denial } from '../respond/errors.js';
import { matchRoute } from '../route/router.js';
import type { Liveness, LivenessVerdict } from '../session/liveness.js';
import type { Runtime, RuntimeRoute } from './runtime.js';

export interface Pass {
  kind: 'pass';
  /** Null on a public route: nothing is vouched for. */
  attribution: Attribution | null;
  /** Called with the upstream's status once it answered (successful use extends a session). */
  afterUse: ((status: number) => void) | undefined;
}

export type Decision = Pass | Denial;

const PUBLIC: Pass = Object.freeze({ kind: 'pass', attribution: null, afterUse: undefined });
const ROUTE_NOT_FOUND: Denial = Object.freeze(bearerDenial('route_not_found'));

/** What deciding a request tells its log line and metrics: the matched route, and how long its authenticators took. */
export interface DecisionReport {
  routeId: string | null;
  /** Null when no authenticator was asked (no route, a method the route does not take). */
  authSeconds: number | null;
}

/**
 * The decision about a request the proxy does not answer itself, whether it is then forwarded (in line) or only
 * answered (forward-auth): the first matching route (none is 404), the route's methods (another is 405 with its
 * Allow header), then decide().
 */
export function decideRequest(request: AuthRequest, runtime: Runtime, liveness: Liveness, report: DecisionReport): Decision | Promise<Decision> {
  const route = matchRoute(runtime.routes, request.target.path);
  if (route === undefined) return ROUTE_NOT_FOUND;
  report.routeId = route.id;
  if (!route.methods.has(request.method)) return bearerDenial('method_not_allowed', { allow: route.allow });
  const started = performance.now();
  const decision = decide(route, request, runtime, liveness);
  if (!(decision instanceof Promise)) {
    report.authSeconds = (performance.now() - started) / 1000;
    return decision;
  }
  return decision.then((settled) => {
    report.authSeconds = (performance.now() - started) / 1000;
    return settled;
  });
}

export function decide(route: RuntimeRoute, request: AuthRequest, runtime: Runtime, liveness: Liveness): Decision | Promise<Decision> {
  if (route.public) return PUBLIC;
  const outcome = authenticateWith(route.chain, request);
  return outcome instanceof Promise ? outcome.then((settled) => afterAuthentication(settled, request, runtime, liveness)) : afterAuthentication(outcome, request, runtime, liveness);
}

function afterAuthentication(outcome: Attribution | Denial, request: AuthRequest, runtime: Runtime, liveness: Liveness): Decision | Promise<Decision> {
  if (outcome.kind === 'denial') return outcome;
  const verdict = liveness.check(outcome.credential);
  return verdict instanceof Promise ? verdict.then((settled) => afterSession(outcome, settled, request, runtime)) : afterSession(outcome, verdict, request, runtime);
}

function afterSession(attribution: Attribution, verdict: LivenessVerdict, request: AuthRequest, runtime: Runtime): Decision {
  if (!verdict.live) return { kind: 'denial', reason: verdict.reason, style: attribution.denialStyle };
  const refused = authorize(attribution, request.target, runtime.pathCarriesCredential);
  if (refused !== null) return refused;
  return { kind: 'pass', attribution, afterUse: verdict.afterUse };
}
