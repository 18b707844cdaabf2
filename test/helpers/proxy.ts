// Starts the real proxy on port 0 in front of a recording echo upstream, with a frozen clock and a fixed
// signing key, from a config object close to config/example.yaml. Each test file gets its own pair.

import { Writable } from 'node:stream';
import { ManualClock } from '../../src/clock.js';
import { resolveConfig, type Config } from '../../src/config/load.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { Portcullis } from '../../src/server.js';
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
  options: { edit?: (config: Record<string, unknown>) => void; clock?: ManualClock; store?: Store; env?: NodeJS.ProcessEnv; upstream?: EchoUpstream } = {},
): Promise<TestProxy> {
  const upstream = options.upstream ?? (await startEchoUpstream());
  const raw = baseConfig(upstream.url);
  options.edit?.(raw);
  const config = await loadTestConfig(raw, options.env);
  const clock = options.clock ?? new ManualClock(FROZEN_EPOCH);
  const logLines: string[] = [];
  const proxy = await Portcullis.start({ config, clock, logger: captureLogger(logLines), ...(options.store ? { store: options.store } : {}) });
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
export async function login(url: string, overrides: Record<string, string> = {}, client = { id: 'public-api', secret: SECRETS.clientSecret }): Promise<TokenAnswer> {
  return tokenRequest(
    url,
    { grant_type: 'password', scope: 'public-api', username: 'my-operator', password: SECRETS.operatorPassword, ...overrides },
    { authorization: basicAuth(client.id, client.secret) },
  );
}
