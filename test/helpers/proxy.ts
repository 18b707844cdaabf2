// Starts the real proxy on port 0 in front of a recording echo upstream, with a frozen clock and a fixed
// signing key, from a config object close to config/example.yaml. Each test file gets its own pair.

import { Writable } from 'node:stream';
import { ManualClock } from '../../src/clock.js';
import { resolveConfig, type Config } from '../../src/config/load.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { Portcullis, type PortcullisHooks } from '../../src/portcullis.js';
import type { Store } from '../../src/store/store.js';
import { generateSigningKey } from '../../src/tokens/keyring.js';
import { SECRETS } from '../fixtures/secrets.js';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream.js';

/** One RSA key for the whole test process: generating keys is the slowest part of starting a proxy. */
const SIGNING_KEY = generateSigningKey('RS256', 'test-key-1');
export const SIGNING_KEY_PEM = SIGNING_KEY.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

export const FROZEN_EPOCH = Date.UTC(2026, 0, 15, 12, 0, 0);

export function baseConfig(upstreamUrl: string): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0, token: SECRETS.adminTokenHash },
    upstream: { url: upstreamUrl, timeout: '2s', connectTimeout: '1s' },
    tokens: { signingKeys: [{ kid: 'test-key-1', privateKey: { env: 'PORTCULLIS_TEST_SIGNING_KEY' }, active: true }] },
    oauth: {
      scope: 'public-api',
      clients: [
        { id: 'public-api', secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password', 'refresh_token'] },
        { id: 'password-only', secret: SECRETS.clientSecretHash, accessTokenTtl: '30m', refreshTokenTtl: '1h', grants: ['password'] },
        { id: 'refresh-only', secret: SECRETS.clientSecretHash, accessTokenTtl: '30m', refreshTokenTtl: '1h', grants: ['refresh_token'] },
        { id: 'publbe-api', secret: SECRETS.seedClientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password', 'refresh_token'] },
      ],
    },
    operators: [
      { login: 'my-operator', password: SECRETS.operatorPasswordHash, apiAccess: true, teams: ['service-desk', 'network'], organizations: ['acme'], features: ['tickets', 'dashboard'] },
      { login: 'no-api-operator', password: SECRETS.operatorPasswordHash, apiAccess: false },
    ],
    routes: [
      { id: 'api', path: '/api/**', authenticators: ['bearer'] },
      { id: 'portal-home', path: '/', methods: ['GET'], public: true },
      { id: 'public-docs', path: '/docs/**', public: true },
    ],
  };
}

export interface TestProxy {
  proxy: Portcullis;
  upstream: EchoUpstream;
  clock: ManualClock;
  url: string;
  port: number;
  /** Everything the proxy logged, one JSON object per line. */
  logLines: string[];
  close(): Promise<void>;
}

export async function loadTestConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<Config> {
  return resolveConfig(raw, { env: { PORTCULLIS_TEST_SIGNING_KEY: SIGNING_KEY_PEM, ...env } });
}

export function captureLogger(lines: string[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line);
      callback();
    },
  });
  return createLogger({ level: 'info', destination: sink });
}

export async function startTestProxy(
  options: { edit?: (config: Record<string, unknown>) => void; clock?: ManualClock; store?: Store; env?: NodeJS.ProcessEnv; upstream?: EchoUpstream; hooks?: PortcullisHooks } = {},
): Promise<TestProxy> {
  const upstream = options.upstream ?? (await startEchoUpstream());
  const raw = baseConfig(upstream.url);
  options.edit?.(raw);
  const config = await loadTestConfig(raw, options.env);
  const clock = options.clock ?? new ManualClock(FROZEN_EPOCH);
  const logLines: string[] = [];
  const proxy = await Portcullis.start({ config, clock, logger: captureLogger(logLines), ...(options.store ? { store: options.store } : {}), ...(options.hooks ? { hooks: options.hooks } : {}) });
  return {
    proxy,
    upstream,
    clock,
    url: proxy.url,
    port: proxy.port,
    logLines,
    async close() {
      await proxy.close(1000);
      if (!options.upstream) await upstream.close();
    },
  };
}

export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
}

export interface TokenAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function tokenRequest(url: string, form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<TokenAnswer> {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Password grant with the demo client and operator; returns the token response body. */
export async function login(
  url: string,
  overrides: Record<string, string> = {},
  client: { id: string; secret: string } = { id: 'public-api', secret: SECRETS.clientSecret },
): Promise<TokenAnswer> {
  return tokenRequest(
    url,
    { grant_type: 'password', scope: 'public-api', username: 'my-operator', password: SECRETS.operatorPassword, ...overrides },
    { authorization: basicAuth(client.id, client.secret) },
  );
}

/** A PCR-360 section like the demo's, plus keys for the edge cases tests need. */
export function pcrSection(): Record<string, unknown> {
  return {
    pathPrefix: '/api',
    sessions: { lifetimeSeconds: 3600, activitySeconds: 600 },
    reportSection: 'servicedesk',
    keys: [
      { id: 'demo-rw', key: SECRETS.rwKeyHash, read: ['services', 'equipment', 'servicedesk', 'snmp'], write: ['services', 'equipment', 'servicedesk', 'snmp'], tokenAuth: true },
      { id: 'demo-ro', key: SECRETS.roKeyHash, read: ['servicedesk', 'services'], write: [] },
      // Anonymous full-access key whose requests reach the upstream with the backend's own key.
      { id: 'legacy', key: { env: 'PCR_LEGACY_KEY' }, read: ['services', 'equipment', 'servicedesk', 'snmp'], write: ['servicedesk'], upstreamKey: { env: 'PCR_UPSTREAM_KEY' } },
      { id: 'expired', key: { env: 'PCR_EXPIRED_KEY' }, read: ['servicedesk'], expiresAt: '2025-12-31' },
      // Token authentication with its own, shorter session limits.
      { id: 'short', key: { env: 'PCR_SHORT_KEY' }, read: ['servicedesk'], write: ['servicedesk'], tokenAuth: true, sessions: { lifetimeSeconds: 120, activitySeconds: 30 } },
    ],
    users: [
      { login: 'api-user', password: SECRETS.apiUserPasswordHash, keys: ['demo-rw', 'short'] },
      { login: 'expiring-user', password: SECRETS.apiUserPasswordHash, keys: ['demo-rw'], sessionExpiresAt: '2026-01-15T12:30:00Z' },
    ],
  };
}

/** Plain keys behind the { env } sources of pcrSection(). */
export const PCR_ENV = {
  PCR_LEGACY_KEY: 'legacy-client-key-0123456789',
  PCR_UPSTREAM_KEY: 'upstream-key-1',
  PCR_EXPIRED_KEY: 'expired-key-0123456789',
  PCR_SHORT_KEY: 'short-session-key-0123456789',
};

/** startTestProxy options for a proxy with both faces on /api. */
export function withPcr(extra: (config: Record<string, unknown>) => void = () => {}): { edit: (config: Record<string, unknown>) => void; env: NodeJS.ProcessEnv } {
  return {
    env: { ...PCR_ENV },
    edit(config) {
      config['pcr'] = pcrSection();
      config['routes'] = [
        { id: 'api', path: '/api/**', authenticators: ['bearer', 'pcr-api-key'] },
        { id: 'portal-home', path: '/', methods: ['GET'], public: true },
      ];
      extra(config);
    },
  };
}
