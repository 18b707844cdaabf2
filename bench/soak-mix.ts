// What the soak sends: the weighted mix of credential kinds run at a fixed rate, the admin revocations checked now
// and then (a revoked credential must be refused afterwards), and the upstream faults injected now and then on
// their own paths, each of which must be answered 504 (slow) or 502 (reset) and nothing else.

import type { KeyObject } from 'node:crypto';
import { decodeClaims, mintAccessTokens } from '../src/cli/loadtest.js';
import { API_USER, CLIENT, KID, OPERATOR, RO_KEY, RW_KEY } from './bench-config.js';
import type { Caller, Operation, Recorder } from './soak-load.js';
import { RESET_PATH, SLOW_PATH } from './soak-upstream.js';

const FORM = 'application/x-www-form-urlencoded';
const BASIC = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
const PASSWORD_BODY = new URLSearchParams({ grant_type: 'password', username: OPERATOR.login, password: OPERATOR.password, scope: 'public-api' }).toString();
/** How long a revocation may take to reach every worker before a still-accepted credential is a failure. */
export const PROPAGATION_LIMIT_MS = 3000;

export const WEIGHTS = { 'bearer-warm': 35, 'bearer-cold': 10, refresh: 10, 'api-key': 30, 'pcr-session': 15 } as const;
type OpName = keyof typeof WEIGHTS;

export interface FaultTally {
  sent: number;
  expected: number;
  answered: Record<string, number>;
}

export interface RevocationTally {
  checks: number;
  refused: number;
  failures: string[];
  maxPropagationMs: number;
}

export interface MixContext {
  proxy: Caller;
  proxyUrl: string;
  adminUrl: string;
  adminToken: string;
  recorder: Recorder;
  signingKey: KeyObject;
}

interface Grant {
  access: string;
  refresh: string;
}

async function passwordGrant(proxyUrl: string): Promise<Grant> {
  const response = await fetch(`${proxyUrl}/oauth/token`, { method: 'POST', headers: { authorization: BASIC, 'content-type': FORM }, body: PASSWORD_BODY });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200) throw new Error(`the password grant was refused: ${response.status} ${JSON.stringify(body)}`);
  return { access: String(body['access_token']), refresh: String(body['refresh_token']) };
}

async function pcrLogin(proxyUrl: string): Promise<string> {
  const response = await fetch(`${proxyUrl}/api/${RW_KEY}/authlogin.json`, { method: 'POST', headers: { 'pcr-auth-username': API_USER.login, 'pcr-auth-password': API_USER.password } });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200) throw new Error(`the PCR login was refused: ${response.status} ${JSON.stringify(body)}`);
  return String(body['token']);
}

/** Polls until `url` refuses the credential (401); the time that took, or null when it was still accepted. */
async function refusedWithin(url: string, headers: Record<string, string>): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < PROPAGATION_LIMIT_MS) {
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    if (response.status === 401) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

export class SoakMix {
  readonly faults: { slow: FaultTally; reset: FaultTally } = { slow: { sent: 0, expected: 504, answered: {} }, reset: { sent: 0, expected: 502, answered: {} } };
  readonly revocations: RevocationTally = { checks: 0, refused: 0, failures: [], maxPropagationMs: 0 };
  readonly #ctx: MixContext;
  readonly #warm: string[];
  readonly #refresh: string[];
  readonly #coldFamily: string;
  #cold: string[] = [];
  #warmIndex = 0;
  readonly #table: OpName[] = [];
  #pick = 0;

  private constructor(ctx: MixContext, warm: string[], refresh: string[], coldFamily: string) {
    this.#ctx = ctx;
    this.#warm = warm;
    this.#refresh = refresh;
    this.#coldFamily = coldFamily;
    for (const [name, weight] of Object.entries(WEIGHTS) as [OpName, number][]) for (let i = 0; i < weight; i++) this.#table.push(name);
    // A fixed shuffle: the kinds interleave, and every run sends the same sequence.
    for (let i = this.#table.length - 1, seed = 7; i > 0; i--) {
      seed = (seed * 48271) % 2147483647;
      const j = seed % (i + 1);
      [this.#table[i], this.#table[j]] = [this.#table[j]!, this.#table[i]!];
    }
  }

  /** Opens the grants the mix uses: warm tokens, refresh grants, and the grant cold tokens are minted into. */
  static async prepare(ctx: MixContext, warmTokens = 20, refreshGrants = 64): Promise<SoakMix> {
    const warm = await Promise.all(Array.from({ length: warmTokens }, () => passwordGrant(ctx.proxyUrl)));
    const refresh = await Promise.all(Array.from({ length: refreshGrants }, () => passwordGrant(ctx.proxyUrl)));
    const family = String(decodeClaims((await passwordGrant(ctx.proxyUrl)).access)['fid']);
    return new SoakMix(
      ctx,
      warm.map((g) => g.access),
      refresh.map((g) => g.refresh),
      family,
    );
  }

  next(): Operation {
    const name = this.#table[this.#pick++ % this.#table.length]!;
    return this.#ops[name];
  }

  readonly #ops: Record<OpName, Operation> = {
    'bearer-warm': async (due) => {
      const token = this.#warm[this.#warmIndex++ % this.#warm.length]!;
      const answer = await this.#ctx.proxy.call('bearer-warm', { method: 'GET', path: '/api/tickets', headers: { authorization: `Bearer ${token}` } }, [200], due);
      if (answer?.status === 401) this.#ctx.recorder.lose('grant of a warm bearer token refused');
    },
    'bearer-cold': async (due) => {
      if (this.#cold.length === 0) this.#cold = this.#mint(64);
      const token = this.#cold.pop()!;
      const answer = await this.#ctx.proxy.call('bearer-cold', { method: 'GET', path: '/api/tickets', headers: { authorization: `Bearer ${token}` } }, [200], due);
      if (answer?.status === 401) this.#ctx.recorder.lose('grant of a cold bearer token refused');
    },
    refresh: async (due) => {
      const refresh = this.#refresh.shift();
      if (refresh === undefined) {
        this.#refresh.push((await passwordGrant(this.#ctx.proxyUrl)).refresh);
        return;
      }
      const body = `grant_type=refresh_token&refresh_token=${encodeURIComponent(refresh)}`;
      const answer = await this.#ctx.proxy.call('refresh', { method: 'POST', path: '/oauth/token', headers: { authorization: BASIC, 'content-type': FORM }, body }, [200], due);
      if (answer?.status === 200) this.#refresh.push(String((JSON.parse(answer.text) as { refresh_token: string }).refresh_token));
      else {
        if (answer !== null && answer.status < 500) this.#ctx.recorder.lose(`grant refused on refresh (${answer.status})`);
        this.#refresh.push((await passwordGrant(this.#ctx.proxyUrl)).refresh);
      }
    },
    'api-key': async (due) => {
      await this.#ctx.proxy.call('api-key', { method: 'GET', path: `/api/${RO_KEY}/servicedesk.json` }, [200], due);
    },
    'pcr-session': async (due) => {
      const headers = { 'pcr-auth-username': API_USER.login, 'pcr-auth-password': API_USER.password };
      const login = await this.#ctx.proxy.call('pcr-login', { method: 'POST', path: `/api/${RW_KEY}/authlogin.json`, headers }, [200], due);
      if (login?.status !== 200) return;
      const session = { 'pcr-auth-token': String((JSON.parse(login.text) as { token: string }).token) };
      for (let i = 0; i < 2; i++) {
        const use = await this.#ctx.proxy.call('pcr-use', { method: 'GET', path: `/api/${RW_KEY}/servicedesk.json`, headers: session }, [200]);
        if (use?.status === 401) this.#ctx.recorder.lose('PCR session refused while logged in');
      }
      await this.#ctx.proxy.call('pcr-logout', { method: 'POST', path: `/api/${RW_KEY}/authlogout.json`, headers: session }, [200]);
    },
  };

  #mint(count: number): string[] {
    const settings = { key: this.#ctx.signingKey, kid: KID, alg: 'ES256' as const, issuer: 'portcullis', audience: 'itsm-api', subject: OPERATOR.login, clientId: CLIENT.id, scope: 'public-api', ttlSeconds: 3600, familyId: this.#coldFamily };
    return mintAccessTokens(settings, count);
  }

  /** A few slow answers and a few resets on the fault paths; each must come back 504 and 502. */
  async injectFaults(each = 3): Promise<void> {
    const one = async (path: string, tally: FaultTally) => {
      tally.sent++;
      let outcome: string;
      try {
        const response = await fetch(`${this.#ctx.proxyUrl}${path}`);
        await response.arrayBuffer();
        outcome = String(response.status);
      } catch (error) {
        outcome = `transport ${(error as Error).message}`;
      }
      tally.answered[outcome] = (tally.answered[outcome] ?? 0) + 1;
    };
    await Promise.all(Array.from({ length: each }, () => [one(SLOW_PATH, this.faults.slow), one(RESET_PATH, this.faults.reset)]).flat());
  }

  async #admin(method: string, path: string, body?: unknown): Promise<number> {
    const headers = { authorization: `Bearer ${this.#ctx.adminToken}`, 'content-type': 'application/json' };
    const response = await fetch(`${this.#ctx.adminUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    await response.arrayBuffer();
    return response.status;
  }

  #judge(what: string, propagation: number | null): void {
    this.revocations.checks++;
    if (propagation === null) this.revocations.failures.push(`${what} still accepted ${PROPAGATION_LIMIT_MS} ms after it was revoked`);
    else {
      this.revocations.refused++;
      this.revocations.maxPropagationMs = Math.max(this.revocations.maxPropagationMs, propagation);
    }
  }

  /** Revokes a grant, an access token and a PCR session through the admin API and logout; each must be refused. */
  async checkRevocations(): Promise<void> {
    const url = this.#ctx.proxyUrl;
    const grant = await passwordGrant(url);
    const family = String(decodeClaims(grant.access)['fid']);
    const revokeFamily = await this.#admin('DELETE', `/admin/token-families/${encodeURIComponent(family)}`);
    if (revokeFamily !== 200) this.revocations.failures.push(`DELETE /admin/token-families answered ${revokeFamily}`);
    this.#judge('an access token of a revoked grant', await refusedWithin(`${url}/api/tickets`, { authorization: `Bearer ${grant.access}` }));
    const redeemed = await fetch(`${url}/oauth/token`, { method: 'POST', headers: { authorization: BASIC, 'content-type': FORM }, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(grant.refresh)}` });
    await redeemed.arrayBuffer();
    this.revocations.checks++;
    if (redeemed.status === 200) this.revocations.failures.push('the refresh token of a revoked grant was redeemed');
    else this.revocations.refused++;
    const token = (await passwordGrant(url)).access;
    const revokeToken = await this.#admin('POST', '/admin/revoke', { token });
    if (revokeToken !== 200) this.revocations.failures.push(`POST /admin/revoke answered ${revokeToken}`);
    this.#judge('a revoked access token', await refusedWithin(`${url}/api/tickets`, { authorization: `Bearer ${token}` }));
    const session = await pcrLogin(url);
    const logout = await fetch(`${url}/api/${RW_KEY}/authlogout.json`, { method: 'POST', headers: { 'pcr-auth-token': session } });
    await logout.arrayBuffer();
    this.#judge('a logged-out PCR session', await refusedWithin(`${url}/api/${RW_KEY}/servicedesk.json`, { 'pcr-auth-token': session }));
  }
}
