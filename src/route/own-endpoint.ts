// An endpoint the proxy answers itself (token endpoint, JWKS, health, PCR-360 login). Own endpoints are matched
// on the normalised path before any configured route, so no upstream path can shadow them.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReasonId } from '../errors/reasons.js';

/** What an own endpoint reports back for the request's log line and metrics. */
export interface EndpointReport {
  outcome: 'forwarded' | 'denied' | 'own' | 'error' | 'aborted';
  reason: ReasonId | null;
}

export interface OwnEndpoint {
  /** Route id for logs and metrics. */
  id: string;
  handle(req: IncomingMessage, res: ServerResponse, report: EndpointReport): void;
}
