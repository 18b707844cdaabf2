// The credentials a load test sends, obtained before the run: access tokens from the token endpoint, tokens
// minted with the deployment's signing key (joined to one real grant), an API key, or PCR-360 sessions from
// header logins. The plan says which header carries them and which are warm and which cold.

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError, positiveInt, parseMix, type Mix } from './args.js';
import { algorithmOf, decodeClaims, mintAccessTokens, type MintSettings } from './mint.js';

export interface Plan {
  label: string;
  url: string;
  /** The URL with any API key in it masked: keys are credentials. */
  displayUrl: string;
  method: string;
  header: string | null;
  warm: string[];
  cold: string[];
  mix: Mix;
}

async function mapLimit<T>(count: number, limit: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  });
  await Promise.all(workers);
  return results;
}

async function passwordGrantToken(tokenUrl: string, client: { id: string; secret: string }, user: { name: string; password: string }, scope: string | undefined): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'password', username: user.name, password: user.password });
  if (scope !== undefined) form.set('scope', scope);
  const basic = Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64');
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
    body: form.toString(),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (response.status !== 200 || typeof body.access_token !== 'string') {
    throw new Error(`the token endpoint answered ${response.status}${body.error ? ` ${body.error}: ${body.error_description ?? ''}` : ''}`);
  }
  return body.access_token;
}

async function pcrLogin(loginUrl: string, user: string, password: string): Promise<string> {
  const response = await fetch(loginUrl, { method: 'POST', headers: { 'pcr-auth-username': user, 'pcr-auth-password': password } });
  const text = await response.text();
  let token: unknown;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    token = parsed['token'] ?? parsed['TOKEN'] ?? (parsed['data'] as Record<string, unknown> | undefined)?.['token'];
  } catch {
    token = undefined;
  }
  if (response.status !== 200 || typeof token !== 'string') {
    throw new Error(`the header login answered ${response.status}: ${text.slice(0, 200)}`);
  }
  return token;
}

export async function planFor(values: Record<string, string | boolean | undefined>, connections: number, log: (line: string) => void): Promise<Plan> {
  const str = (name: string, env?: string): string | undefined => (values[name] as string | undefined) ?? (env ? process.env[env] : undefined);
  const rawUrl = str('url');
  if (rawUrl === undefined) throw new UsageError('--url is required');
  const mix = parseMix(str('mix') ?? 'warm:100');
  const method = (str('method') ?? 'GET').toUpperCase();
  const apiKey = str('api-key', 'PORTCULLIS_API_KEY');
  const warmCount = Math.min(connections, 16);

  if (apiKey !== undefined) {
    if (!rawUrl.includes('{key}')) throw new UsageError('--api-key: write {key} where the key goes in --url, e.g. http://host/api/{key}/servicedesk.json');
    const url = rawUrl.replaceAll('{key}', encodeURIComponent(apiKey));
    new URL(url);
    const pcrUser = str('pcr-user');
    if (pcrUser === undefined) {
      if (mix.cold > 0) throw new UsageError('--mix: an API key in anonymous mode has no cold share (the key is the same on every request)');
      return { label: 'api-key', url, displayUrl: rawUrl.replaceAll('{key}', '***'), method, header: null, warm: [], cold: [], mix };
    }
    const pcrPassword = str('pcr-password', 'PORTCULLIS_PCR_PASSWORD');
    if (pcrPassword === undefined) throw new UsageError('--pcr-user needs --pcr-password (or PORTCULLIS_PCR_PASSWORD)');
    const loginUrl = str('login-url') ?? url.replace(/\/[^/?]*(\?.*)?$/, '/authlogin.json');
    const coldCount = mix.cold > 0 ? positiveInt('tokens', str('tokens'), 2000) : 0;
    log(`logging in ${warmCount + coldCount} PCR sessions at ${loginUrl.replace(encodeURIComponent(apiKey), '***')} ...`);
    const tokens = await mapLimit(warmCount + coldCount, 8, () => pcrLogin(loginUrl, pcrUser, pcrPassword));
    return { label: `pcr-session ${mix.warm}/${mix.cold}`, url, displayUrl: rawUrl.replaceAll('{key}', '***'), method, header: 'pcr-auth-token', warm: tokens.slice(0, warmCount), cold: tokens.slice(warmCount), mix };
  }

  const url = new URL(rawUrl).toString();
  const clientId = str('client-id');
  const clientSecret = str('client-secret', 'PORTCULLIS_CLIENT_SECRET');
  const username = str('username');
  const password = str('password', 'PORTCULLIS_PASSWORD');
  const tokenUrl = str('token-url') ?? new URL('/oauth/token', url).toString();
  const canLogIn = clientId !== undefined && clientSecret !== undefined && username !== undefined && password !== undefined;
  const grant = () => passwordGrantToken(tokenUrl, { id: clientId!, secret: clientSecret! }, { name: username!, password: password! }, str('scope'));

  const keyFile = str('signing-key');
  if (keyFile !== undefined) {
    const kid = str('kid');
    if (kid === undefined) throw new UsageError('--signing-key needs --kid (the kid the deployment configured for that key)');
    let key: KeyObject;
    try {
      key = createPrivateKey(readFileSync(keyFile, 'utf8'));
    } catch (error) {
      throw new UsageError(`--signing-key: cannot read a private key from ${keyFile}: ${(error as Error).message}`);
    }
    const settings: MintSettings = {
      key,
      kid,
      alg: algorithmOf(key),
      issuer: str('issuer') ?? 'portcullis',
      audience: str('audience') ?? 'itsm-api',
      subject: str('subject') ?? username ?? 'my-operator',
      clientId: clientId ?? 'public-api',
      scope: str('scope') ?? 'public-api',
      ttlSeconds: 3600,
    };
    if (canLogIn) {
      // Minted tokens join one real grant, which the proxy finds in its store when it first sees each of them.
      const claims = decodeClaims(await grant());
      settings.familyId = String(claims['fid']);
      settings.subject = String(claims['sub']);
      settings.scope = String(claims['scope']);
    } else {
      log('no client credentials given: each minted token names a grant of its own, which a proxy that confirms grants in its store refuses');
    }
    const coldCount = mix.cold > 0 ? positiveInt('tokens', str('tokens'), 20_000) : 0;
    log(`minting ${warmCount + coldCount} ${settings.alg} tokens with kid "${kid}" ...`);
    const tokens = mintAccessTokens(settings, warmCount + coldCount);
    return { label: `bearer ${mix.warm}/${mix.cold}`, url, displayUrl: url, method, header: 'authorization', warm: tokens.slice(0, warmCount).map(bearer), cold: tokens.slice(warmCount).map(bearer), mix };
  }

  if (!canLogIn) {
    throw new UsageError('no credentials: give --client-id/--client-secret/--username/--password, --signing-key/--kid, or --api-key');
  }
  const coldCount = mix.cold > 0 ? positiveInt('tokens', str('tokens'), 2000) : 0;
  log(`obtaining ${warmCount + coldCount} access tokens from ${tokenUrl} ...`);
  const tokens = await mapLimit(warmCount + coldCount, 8, grant);
  return { label: `bearer ${mix.warm}/${mix.cold}`, url, displayUrl: url, method, header: 'authorization', warm: tokens.slice(0, warmCount).map(bearer), cold: tokens.slice(warmCount).map(bearer), mix };
}

const bearer = (token: string) => `Bearer ${token}`;
