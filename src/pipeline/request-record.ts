// What the pipeline learns about one request, handed to the log line and the metrics when it is finished.
// Only bounded, credential-free values go in here: route ids and reason ids, never raw paths or keys; the path
// is logged only through `maskPath`, which masks what the faces know to be credentials.

import type { EndpointReport } from '../route/own-endpoint.js';
import type { RequestTarget } from '../target/request-target.js';

export interface RequestRecord extends EndpointReport {
  /** performance.now() when the request arrived. */
  startedAt: number;
  method: string;
  routeId: string | null;
  /** Whether routeId names one of the proxy's own endpoints rather than a configured route. */
  ownEndpoint: boolean;
  status: number;
  upstreamStatus: number | null;
  upstreamSeconds: number | null;
  authSeconds: number | null;
  authMethod: string | null;
  /** The parsed target; null when the request target was refused before it could be parsed. */
  target: RequestTarget | null;
  /** Masks credentials in the target's path, as the runtime the request ran under knows them. */
  maskPath: (target: RequestTarget) => string;
}
