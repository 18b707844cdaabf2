// The liveness and readiness probes on the public listener: /healthz answers while the process runs, /readyz
// only while the store answers too.

import { sendJson } from '../respond/json.js';
import type { OwnEndpoint } from '../route/own-endpoint.js';

export interface ReadinessProbe {
  ready(): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'failing'> }>;
}

export function healthEndpoints(readiness: ReadinessProbe): Map<string, OwnEndpoint> {
  return new Map<string, OwnEndpoint>([
    ['/healthz', { id: 'healthz', handle: (_req, res) => sendJson(res, 200, { status: 'ok' }) }],
    [
      '/readyz',
      {
        id: 'readyz',
        handle(_req, res) {
          void readiness.ready().then(
            (result) => sendJson(res, result.ready ? 200 : 503, { status: result.ready ? 'ready' : 'not_ready', checks: result.checks }),
            () => sendJson(res, 503, { status: 'not_ready' }),
          );
        },
      },
    ],
  ]);
}
