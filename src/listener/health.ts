// The liveness and readiness probes on the public listener: /healthz answers while the process runs, /readyz
// only while the store answers too.

import { sendJson } from '../respond/json.js';
import type { OwnEndpoint } from '../route/own-endpoint.js';

export interface ReadinessProbe {
  ready(): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'failing'> }>;
}

/** Ready while the store answers a ping; the config is always "ok" (a running process has a valid one). */
export function storeReadiness(store: { ping(): Promise<unknown> }): ReadinessProbe {
  return {
    async ready() {
      try {
        await store.ping();
        return { ready: true, checks: { config: 'ok', store: 'ok' } };
      } catch {
        return { ready: false, checks: { config: 'ok', store: 'failing' } };
      }
    },
  };
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
