// What each benchmark scenario sends. Every scenario runs on a fresh proxy process (bench-config.ts: the same
// config, only what the scenario is about differs) and is compared with `baseline`: the same proxy forwarding a
// public route, authentication off. Scenarios of one group run side by side, their rounds alternating.

import type autocannon from 'autocannon';
import { decodeClaims, type TokenAlgorithm } from '../src/cli/loadtest.js';
import { API_USER, CLIENT, OPERATOR, RW_KEY, RO_KEY } from './bench-config.js';
import type { TokenPool } from './token-pool.js';

/** What a scenario needs from the run around it. */
export interface ScenarioContext {
  proxyUrl: string;
  keyPem: string;
  alg: TokenAlgorithm;
  connections: number;
  /** Seconds of warm-up plus measurement. */
  seconds: number;
  /** How many load runs the scenario goes through (warm-up and rounds). */
  runs: number;
  /** req/s of the baseline in this run, for sizing cold token pools; null before it ran. */
  baselineRps: number | null;
  /** Tokens signed with the proxy's key, minted on both cores, all of the grant `familyId`. */
  mint(count: number, familyId: string): Promise<TokenPool>;
  maxColdTokens: number;
  memoryTokens: number;
  log(line: string): void;
}

export interface Load {
  request: autocannon.Request;
  /** A request must end after this many (cold pools are finite). */
  amount?: number;
  /** A new connection after this many requests on one; autocannon counts all but the last of them. */
  reconnectRate?: number;
  /** For the memory scenario: how many distinct tokens have been sent so far. */
  progress?: () => number;
  note?: string;
}

export interface Scenario {
  name: string;
  description: string;
  store: 'memory' | 'redis' | 'sqlite';
  cacheSize?: number;
  /** Measured over the whole pool instead of a duration, with an RSS curve (the memory scenario). */
  curve?: boolean;
  /** Scenarios of one group have their proxies up at once and their measured rounds alternating. */
  group?: string;
  /** The request log setting of this scenario's proxy; the run's --request-log when absent. */
  requestLog?: boolean;
  /** HTTPS on the proxy's listener (listen.tls); the load generator keeps its connections, so one handshake each. */
  listenerTls?: boolean;
  /** Tracing on, every request sampled, spans exported to a local sink; off when absent. */
  tracing?: boolean;
  /** Started as the `portcullis` command with `workers: N`, unpinned, instead of as the pinned proxy child. */
  workers?: number;
  /** The token algorithm of this scenario's proxy; the run's --alg when absent. */
  algorithm?(runAlg: TokenAlgorithm): TokenAlgorithm;
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

/** The same cached token on every request, on GET /api/tickets. */
async function warmBearer(ctx: ScenarioContext): Promise<Load> {
  const token = (await ctx.mint(1, await grantFamily(ctx.proxyUrl))).next();
  await expectAccepted(ctx.proxyUrl, '/api/tickets', { authorization: bearer(token) });
  return { request: { method: 'GET', path: '/api/tickets', headers: { authorization: bearer(token) } } };
}

/** Distinct tokens, each sent once, then the last one again if the run outlasts them. */
function coldBearer(pool: TokenPool): Load {
  return {
    request: { method: 'GET', path: '/api/tickets', setupRequest: (req) => ({ ...req, headers: { authorization: bearer(pool.next()) } }) },
    amount: pool.length,
    progress: () => pool.used,
  };
}

function pcrSession(name: string, store: Scenario['store'], description: string): Scenario {
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
    group: 'bearer',
    prepare: warmBearer,
  },
  {
    name: 'bearer-warm-nolog',
    description: 'the same on a proxy with log.requests: false, beside bearer-warm: the request log line costs the difference',
    store: 'memory',
    group: 'bearer',
    requestLog: false,
    prepare: warmBearer,
  },
  {
    name: 'bearer-warm-tls',
    description: 'the same over HTTPS (listen.tls, keep-alive connections), beside bearer-warm: TLS on the listener costs the difference',
    store: 'memory',
    group: 'bearer',
    listenerTls: true,
    prepare: warmBearer,
  },
  {
    name: 'bearer-warm-traced',
    description: 'the same with tracing on (every request sampled, spans exported to a local sink): tracing costs the difference',
    store: 'memory',
    group: 'bearer',
    tracing: true,
    prepare: warmBearer,
  },
  {
    name: 'bearer-cold',
    description: 'a token never seen before on every request: a signature verification and a store check of its grant each',
    store: 'memory',
    group: 'bearer',
    async prepare(ctx) {
      const count = coldPoolSize(ctx);
      ctx.log(`  minting ${count} ${ctx.alg} tokens ...`);
      return coldBearer(await ctx.mint(count, await grantFamily(ctx.proxyUrl)));
    },
  },
  {
    name: 'tls-handshake',
    description: 'the public route over HTTPS, a new connection (a full ECDSA P-256 handshake) for every two requests; one counted request is a handshake and two requests',
    store: 'memory',
    listenerTls: true,
    async prepare() {
      // autocannon does not count the answer after which it reconnects: with a rate of 1 it would count nothing.
      return { request: { method: 'GET', path: '/public/tickets' }, reconnectRate: 2 };
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
  pcrSession('pcr-session', 'memory', 'PCR-AUTH-TOKEN session token, sliding inactivity, memory store (local session view re-read each second, activity written through)'),
  pcrSession('pcr-session-redis', 'redis', 'the same on Redis (local session copy for 1s, activity written back every 5s)'),
  pcrSession('pcr-session-sqlite', 'sqlite', 'the same on the sqlite store (local session view re-read each second, activity written back every 5s)'),
  {
    name: 'bearer-warm-sqlite',
    description: 'the warm bearer token on a proxy with the sqlite store (the store is read once, when the token is first seen)',
    store: 'sqlite',
    prepare: warmBearer,
  },
  {
    name: 'refresh-grant',
    description: 'POST /oauth/token grant_type=refresh_token: each response’s refresh token is redeemed next (rotation)',
    store: 'memory',
    async prepare(ctx) {
      const pool: string[] = [];
      // Each run ends with up to one request per connection in flight whose answer (the next refresh token) is
      // never read, so every run costs the pool that many tokens: it starts with enough for all of them.
      const initial = ctx.connections * (ctx.runs + 2);
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
    name: 'workers-1',
    description: 'warm bearer through `portcullis --config` with workers: 1 on the Redis store, unpinned (beside workers-2)',
    store: 'redis',
    group: 'workers',
    workers: 1,
    prepare: warmBearer,
  },
  {
    name: 'workers-2',
    description: 'the same with workers: 2 (a cluster primary and two workers on one port)',
    store: 'redis',
    group: 'workers',
    workers: 2,
    prepare: warmBearer,
  },
  {
    name: 'memory',
    description: 'distinct tokens through a proxy with tokens.cacheSize 10000: memory must stay within the cache bound',
    store: 'memory',
    cacheSize: 10_000,
    curve: true,
    // ES256 signs ~9x faster than RS256, which would take minutes to mint a million tokens on two cores.
    algorithm: (alg) => (alg === 'RS256' ? 'ES256' : alg),
    async prepare(ctx) {
      ctx.log(`  minting ${ctx.memoryTokens} ${ctx.alg} tokens ...`);
      const started = Date.now();
      const pool = await ctx.mint(ctx.memoryTokens, await grantFamily(ctx.proxyUrl));
      ctx.log(`  minted in ${((Date.now() - started) / 1000).toFixed(0)}s`);
      return coldBearer(pool);
    },
  },
];
