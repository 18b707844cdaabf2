// The proxy the console journeys run against: the PCR-360 face of withPcr() in front of the echo upstream, and an
// admin listener with two named tokens, `ops` (manage) and `viewer` (read) unless a suite names them otherwise.
// Plus plain HTTP calls that replay a browser's console cookie and the admin API's JSON, for checking what a page
// changed.

import { hashSecret } from '../../src/secrets/hash.js';
import { SECRETS } from '../fixtures/secrets.js';
import type { Store } from '../../src/store/store.js';
import { send, type Reply } from './http.js';
import { testProxyForSuite } from './lifecycle.js';
import { withPcr, type TestProxy } from './proxy.js';

export const OPS_TOKEN: string = SECRETS.adminToken;
export const VIEWER_TOKEN = 'viewer-console-token-0123456789';

export interface ConsoleProxyOptions {
  /** Read when the suite starts. */
  store?: () => Store | Promise<Store>;
  /** The names of the manage and the read admin token; `ops` and `viewer` unless given. */
  tokenNames?: { manage: string; read: string };
  /** Whether the proxy has the PCR-360 face of withPcr(); true unless false. */
  pcr?: boolean;
}

/** A proxy for the enclosing suite with a manage admin token (OPS_TOKEN) and a read one (VIEWER_TOKEN). */
export function consoleProxyForSuite(options: ConsoleProxyOptions = {}): TestProxy {
  const names = options.tokenNames ?? { manage: 'ops', read: 'viewer' };
  return testProxyForSuite(async () => {
    const viewer = await hashSecret(VIEWER_TOKEN);
    const edit = (config: Record<string, unknown>) => {
      config['admin'] = {
        host: '127.0.0.1',
        port: 0,
        tokens: [
          { name: names.manage, role: 'manage', token: SECRETS.adminTokenHash },
          { name: names.read, role: 'read', token: viewer },
        ],
      };
    };
    const proxy = options.pcr === false ? { edit } : withPcr(edit);
    return { ...proxy, ...(options.store ? { store: await options.store() } : {}) };
  });
}

/** A call of the JSON admin API as `ops`. */
export function adminApi(t: TestProxy, method: string, path: string, body?: unknown): Promise<Reply> {
  return send(t.proxy.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${OPS_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

/** A plain request to the console carrying `cookie` as the session, redirects not followed. */
export async function consoleRequest(t: TestProxy, path: string, init: { cookie: string; method?: string; form?: Record<string, string>; headers?: Record<string, string> }): Promise<{ status: number; location: string | null; text: string }> {
  const res = await fetch(`${t.proxy.adminUrl}/console${path}`, {
    method: init.method ?? (init.form ? 'POST' : 'GET'),
    redirect: 'manual',
    headers: {
      cookie: `portcullis_console=${init.cookie}`,
      ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...init.headers,
    },
    ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
  });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
}

/** GET /admin/keys/ID's JSON, or null when there is no such key. */
export async function keyRecord(t: TestProxy, id: string): Promise<Record<string, unknown> | null> {
  const reply = await adminApi(t, 'GET', `/admin/keys/${encodeURIComponent(id)}`);
  return reply.status === 200 ? (reply.json as Record<string, unknown>) : null;
}
