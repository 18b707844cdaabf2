// Who and what a test proxy is configured with: the signing key and frozen start instant, the demo operators and
// OAuth clients, the PCR-360 keys and API users, and the config builders and edits that tests start from. Tests
// assert against these names, so they live in one place.

import { ConfigError, type Config } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config-loader.js';
import { generateSigningKey } from '../../src/tokens/keyring.js';
import { SECRETS } from '../fixtures/secrets.js';

/** One RSA key for the whole test process: generating keys is the slowest part of starting a proxy. */
const SIGNING_KEY = generateSigningKey('RS256', 'test-key-1');
export const SIGNING_KEY_PEM = SIGNING_KEY.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

export const FROZEN_EPOCH = Date.UTC(2026, 0, 15, 12, 0, 0);

/** A change to the raw config object before it is validated. */
export type ConfigEdit = (config: Record<string, unknown>) => void;

/** A config close to config/example.yaml: the bearer route on /api, public pages, four clients, two operators. */
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

/** The identity headers the proxy sets upstream for the demo operator's bearer token (default header names). */
export const OPERATOR_IDENTITY: Readonly<Record<string, string>> = {
  'x-portcullis-auth': 'oauth',
  'x-portcullis-user': 'my-operator',
  'x-portcullis-client-id': 'public-api',
  'x-portcullis-scope': 'public-api',
  'x-portcullis-teams': 'service-desk,network',
  'x-portcullis-organizations': 'acme',
  'x-portcullis-features': 'tickets,dashboard',
};

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
export function withPcr(extra: ConfigEdit = () => {}): { edit: ConfigEdit; env: NodeJS.ProcessEnv } {
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

/** Config edit for tests that fail logins on purpose: brute-force lockouts would turn later answers into 429. */
export function withoutBruteForce(config: Record<string, unknown>): void {
  config['protection'] = { bruteForce: { enabled: false } };
}

/** The two ways the proxy can forward; suites that care about framing run against both. */
export const FORWARDING_ENGINES = ['http-proxy', 'undici'] as const;
export type ForwardingEngine = (typeof FORWARDING_ENGINES)[number];

/** Config edit that picks the forwarding engine. */
export function usingEngine(engine: ForwardingEngine): ConfigEdit {
  return (config) => {
    (config['upstream'] as Record<string, unknown>)['engine'] = engine;
  };
}

/** Validates a raw config the way the CLI would, with the test signing key behind its { env } source. */
export async function loadTestConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<Config> {
  return resolveConfig(raw, { env: { PORTCULLIS_TEST_SIGNING_KEY: SIGNING_KEY_PEM, ...env } });
}

/** The problems a raw config is refused with, each with its path; throws when the config is accepted. */
export async function configProblems(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const error = await resolveConfig(raw, { env }).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof ConfigError)) throw new Error(error === null ? 'the config was accepted' : `the config failed otherwise: ${String(error)}`);
  return error.problems;
}

/** The validated config of a proxy started with withPcr(), changed by `edit`: what reload tests hand the proxy. */
export function loadPcrConfig(upstreamUrl: string, edit: ConfigEdit = () => {}): Promise<Config> {
  const pcr = withPcr();
  const raw = baseConfig(upstreamUrl);
  pcr.edit(raw);
  edit(raw);
  return loadTestConfig(raw, pcr.env);
}
