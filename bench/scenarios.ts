// What each benchmark scenario sends, and the proxy config it runs against. Every scenario runs on a fresh proxy
// process with the same config (only the store or the cache size differ where the scenario is about them), and is
// compared with `baseline`: the same proxy forwarding a public route, authentication off.

import type autocannon from 'autocannon';
import { CredentialPicker, decodeClaims, type TokenAlgorithm } from '../src/cli/loadtest.js';
import { sha256KeyHash } from '../src/config/secrets.js';

export const CLIENT = { id: 'bench-client', secret: 'bench-client-secret' };
export const OPERATOR = { login: 'bench-operator', password: 'bench-operator-password' };
export const API_USER = { login: 'bench-api-user', password: 'bench-api-password' };
export const RO_KEY = 'bench-read-only-key-0123456789';
export const RW_KEY = 'bench-token-auth-key-0123456789';
export const KID = 'bench-key-1';

export interface Hashes {
  client: string;
  operator: string;
  apiUser: string;
}

export interface ConfigOptions {
  upstreamUrl: string;
  engine: string | null;
  requestLog: boolean;
  alg: TokenAlgorithm;
  hashes: Hashes;
  redisUrl: string | null;
  cacheSize: number | null;
}

export function benchConfig(o: ConfigOptions): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info', requests: o.requestLog },
    upstream: { url: o.upstreamUrl, ...(o.engine ? { engine: o.engine } : {}) },
    tokens: {
      algorithm: o.alg,
      signingKeys: [{ kid: KID, privateKey: { env: 'BENCH_SIGNING_KEY' }, active: true }],
      ...(o.cacheSize !== null ? { cacheSize: o.cacheSize } : {}),
    },
    oauth: {
      scope: 'public-api',
      clients: [{ id: CLIENT.id, secret: o.hashes.client, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password', 'refresh_token'] }],
    },
    operators: [
      { login: OPERATOR.login, password: o.hashes.operator, apiAccess: true, teams: ['service-desk', 'network'], organizations: ['acme'], features: ['tickets', 'dashboard'] },
    ],
    pcr: {
      pathPrefix: '/api',
      keys: [
        { id: 'bench-ro', key: sha256KeyHash(RO_KEY), read: ['servicedesk', 'services'] },
        {
          id: 'bench-rw',
          key: sha256KeyHash(RW_KEY),
          read: ['services', 'equipment', 'servicedesk', 'snmp'],
          write: ['services', 'equipment', 'servicedesk', 'snmp'],
          tokenAuth: true,
        },
      ],
      users: [{ login: API_USER.login, password: o.hashes.apiUser, keys: ['bench-rw'] }],
    },
    routes: [
      { id: 'api', path: '/api/**', authenticators: ['bearer', 'pcr-api-key'] },
      { id: 'public', path: '/public/**', public: true },
    ],
    store: o.redisUrl === null ? { type: 'memory' } : { type: 'redis', url: o.redisUrl, keyPrefix: `portcullis-bench:${process.pid}:` },
  };
}

/** What a scenario needs from the run around it. */
export interface ScenarioContext {
  proxyUrl: string;
  keyPem: string;
  alg: TokenAlgorithm;
  connections: number;
  /** Seconds of warm-up plus measurement. */
  seconds: number;
  /** req/s of the baseline in this run, for sizing cold token pools; null before it ran. */
  baselineRps: number | null;
  /** Tokens signed with the proxy's key, minted on both cores, all of the grant `familyId`. */
  mint(count: number, familyId: string): Promise<string[]>;
  maxColdTokens: number;
  memoryTokens: number;
  log(line: string): void;
}

export interface Load {
  request: autocannon.Request;
  /** A request must end after this many (cold pools are finite). */
  amount?: number;
  /** For the memory scenario: how many distinct tokens have been sent so far. */
  progress?: () => number;
  note?: string;
}

export interface Scenario {
  name: string;
  description: string;
  store: 'memory' | 'redis';
  cacheSize?: number;
  /** Measured over the whole pool instead of a duration, with an RSS curve (the memory scenario). */
  curve?: boolean;
  prepare(ctx: ScenarioContext): Promise<Load>;
}

const bearer = (token: string) => `Bearer ${token}`;
const basic = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

async function checkedJson(response: Response, what: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${what} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** A scenario whose credentials the proxy refuses would measure denials; fail before measuring instead. */
async function expectAccepted(proxyUrl: string, path: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(`${proxyUrl}${path}`, { headers });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`the proxy refused the scenario's credentials: ${response.status} ${text.slice(0, 300)}`);
}

async function passwordGrant(proxyUrl: string): Promise<{ access: string; refresh: string }> {
  const body = new URLSearchParams({ grant_type: 'password', username: OPERATOR.login, password: OPERATOR.password, scope: 'public-api' }).toString();
  const answer = await checkedJson(await fetch(`${proxyUrl}/oauth/token`, { method: 'POST', headers: { authorization: basic, 'content-type': FORM }, body }), 'the password grant');
  return { access: String(answer['access_token']), refresh: String(answer['refresh_token']) };
}

async function pcrLogin(proxyUrl: string): Promise<string> {
  const answer = await checkedJson(
    await fetch(`${proxyUrl}/api/${RW_KEY}/authlogin.json`, { method: 'POST', headers: { 'pcr-auth-username': API_USER.login, 'pcr-auth-password': API_USER.password } }),
    'the PCR header login',
  );
  return String(answer['token']);
}

/**
 * A real grant for locally minted tokens to join: the proxy confirms each token's grant in its store the first
 * time it sees the token, as it would for tokens from a busy token endpoint.
 */
async function grantFamily(proxyUrl: string): Promise<string> {
  return String(decodeClaims((await passwordGrant(proxyUrl)).access)['fid']);
}

/** Tokens for a cold run: enough for the baseline's rate over the whole run, within the configured cap. */
function coldPoolSize(ctx: ScenarioContext): number {
  const rate = ctx.baselineRps ?? 10_000;
  return Math.min(ctx.maxColdTokens, Math.ceil(rate * ctx.seconds * 1.05));
}

function pcrSession(name: string, store: 'memory' | 'redis', description: string): Scenario {
  return {
    name,
    description,
    store,
    async prepare(ctx) {
      const token = await pcrLogin(ctx.proxyUrl);
      return { request: { method: 'GET', path: `/api/${RW_KEY}/servicedesk.json`, headers: { 'pcr-auth-token': token } } };
    },
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'baseline',
    description: 'public route, no authentication: the proxy as a plain pass-through',
    store: 'memory',
    async prepare() {
      return { request: { method: 'GET', path: '/public/tickets' } };
    },
  },
  {
    name: 'bearer-warm',
    description: 'Authorization: Bearer with a token the proxy has verified before (cache hit)',
    store: 'memory',
    async prepare(ctx) {
      const [token] = await ctx.mint(1, await grantFamily(ctx.proxyUrl));
      await expectAccepted(ctx.proxyUrl, '/api/tickets', { authorization: bearer(token!) });
      return { request: { method: 'GET', path: '/api/tickets', headers: { authorization: bearer(token!) } } };
    },
  },
  {
    name: 'bearer-cold',
    description: 'a token never seen before on every request: a signature verification and a store check of its grant each',
    store: 'memory',
    async prepare(ctx) {
      const count = coldPoolSize(ctx);
      ctx.log(`  minting ${count} ${ctx.alg} tokens ...`);
      const picker = new CredentialPicker({ warm: 0, cold: 100 }, [], (await ctx.mint(count, await grantFamily(ctx.proxyUrl))).map(bearer));
      return {
        request: { method: 'GET', path: '/api/tickets', setupRequest: (req) => ({ ...req, headers: { authorization: picker.next() } }) },
        amount: count,
        progress: () => picker.coldUsed,
      };
    },
  },
  {
    name: 'api-key',
    description: 'PCR-360 API key in the path, anonymous mode (SHA-256 lookup, key swapped out of the path)',
    store: 'memory',
    async prepare() {
      return { request: { method: 'GET', path: `/api/${RO_KEY}/servicedesk.json` } };
    },
  },
  pcrSession('pcr-session', 'memory', 'PCR-AUTH-TOKEN session token, sliding inactivity, memory store (store read and activity write per request)'),
  pcrSession('pcr-session-redis', 'redis', 'the same on Redis (local session copy for 1s, activity written back every 5s)'),
  {
    name: 'refresh-grant',
    description: 'POST /oauth/token grant_type=refresh_token: each response’s refresh token is redeemed next (rotation)',
    store: 'memory',
    async prepare(ctx) {
      const pool: string[] = [];
      const initial = ctx.connections * 2;
      for (let i = 0; i < initial; i += 16) {
        const batch = await Promise.all(Array.from({ length: Math.min(16, initial - i) }, () => passwordGrant(ctx.proxyUrl)));
        for (const grant of batch) pool.push(grant.refresh);
      }
      return {
        request: {
          method: 'POST',
          path: '/oauth/token',
          headers: { authorization: basic, 'content-type': FORM },
          setupRequest: (req) => ({ ...req, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(pool.shift() ?? 'exhausted')}` }),
          onResponse: (status, body) => {
            if (status === 200) pool.push(String((JSON.parse(body) as { refresh_token: string }).refresh_token));
          },
        },
      };
    },
  },
  {
    name: 'password-grant',
    description: 'POST /oauth/token grant_type=password (client secret and password checks cached after the first)',
    store: 'memory',
    async prepare(ctx) {
      await passwordGrant(ctx.proxyUrl);
      return {
        request: {
          method: 'POST',
          path: '/oauth/token',
          headers: { authorization: basic, 'content-type': FORM },
          body: new URLSearchParams({ grant_type: 'password', username: OPERATOR.login, password: OPERATOR.password, scope: 'public-api' }).toString(),
        },
      };
    },
  },
  {
    name: 'memory',
    description: 'distinct tokens through a proxy with tokens.cacheSize 10000: RSS must level off once the cache is full',
    store: 'memory',
    cacheSize: 10_000,
    curve: true,
    async prepare(ctx) {
      ctx.log(`  minting ${ctx.memoryTokens} ${ctx.alg} tokens ...`);
      const picker = new CredentialPicker({ warm: 0, cold: 100 }, [], (await ctx.mint(ctx.memoryTokens, await grantFamily(ctx.proxyUrl))).map(bearer));
      return {
        request: { method: 'GET', path: '/api/tickets', setupRequest: (req) => ({ ...req, headers: { authorization: picker.next() } }) },
        amount: ctx.memoryTokens,
        progress: () => picker.coldUsed,
      };
    },
  },
];

