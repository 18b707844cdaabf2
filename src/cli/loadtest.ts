// `portcullis loadtest`: drives load at a deployment with real credentials, so an operator can see what token
// validation costs on their own hardware and network. Credentials come from the token endpoint, from tokens
// minted locally with the deployment's signing key, from an API key, or from a PCR-360 header login; a mix
// decides how many requests reuse a credential the proxy has already seen (warm) and how many bring one it has
// not (cold, which costs a signature check). The results table is the one `npm run bench` prints, and the helpers
// here (token minting, table, /proc readings) are what the benchmark uses too.

import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

export type TokenAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

// ---------------------------------------------------------------------------------------------------------------
// Tokens minted locally, exactly as the token endpoint would issue them.

export interface MintSettings {
  key: KeyObject;
  kid: string;
  alg: TokenAlgorithm;
  issuer: string;
  audience: string;
  subject: string;
  clientId: string;
  scope: string;
  ttlSeconds: number;
  /**
   * The grant the tokens belong to. The proxy confirms a token's grant in its store the first time it sees the
   * token, so tokens must name a grant that exists there (one opened through the token endpoint); without it
   * each token gets a family of its own, which only a proxy that skips that check accepts.
   */
  familyId?: string;
}

/** The claims of a compact JWS, unverified: for reading back what a token endpoint issued. */
export function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function algorithmOf(key: KeyObject): TokenAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') return 'ES256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  throw new Error(`unsupported signing key type "${key.asymmetricKeyType ?? 'unknown'}" (expected RSA, EC P-256 or Ed25519)`);
}

/** `count` distinct access tokens; each has its own jti and token family, so none is a copy of another. */
export function mintAccessTokens(settings: MintSettings, count: number, nowSeconds = Math.floor(Date.now() / 1000)): string[] {
  const header = Buffer.from(JSON.stringify({ alg: settings.alg, kid: settings.kid, typ: 'at+jwt' })).toString('base64url');
  const prefix = randomBytes(9).toString('base64url');
  const tokens: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const id = `${prefix}${i.toString(36)}`;
    const claims = {
      sub: settings.subject,
      client_id: settings.clientId,
      scope: settings.scope,
      jti: id,
      fid: settings.familyId ?? `f${id}`,
      iat: nowSeconds,
      exp: nowSeconds + settings.ttlSeconds,
      iss: settings.issuer,
      aud: settings.audience,
    };
    const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const data = Buffer.from(signingInput, 'ascii');
    const signature =
      settings.alg === 'RS256'
        ? sign('sha256', data, settings.key)
        : settings.alg === 'ES256'
          ? sign('sha256', data, { key: settings.key, dsaEncoding: 'ieee-p1363' })
          : sign(null, data, settings.key);
    tokens[i] = `${signingInput}.${signature.toString('base64url')}`;
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// Readings of a local process, from /proc (Linux only; elsewhere they are simply absent).

let ticksPerSecond: number | null = null;

export function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface ProcessReading {
  /** User plus system CPU time the process has used so far. */
  cpuSeconds: number;
  rssBytes: number;
}

export function readProcess(pid: number): ProcessReading | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces; the fields that follow are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return { cpuSeconds: ticks / clockTicks(), rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
  } catch {
    return null;
  }
}

/** Samples a process's RSS until stopped; keeps the peak. */
export function watchRss(pid: number | null, intervalMs = 200): { stop(): number | null } {
  if (pid === null) return { stop: () => null };
  let peak = readProcess(pid)?.rssBytes ?? 0;
  const timer = setInterval(() => {
    const reading = readProcess(pid);
    if (reading && reading.rssBytes > peak) peak = reading.rssBytes;
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const reading = readProcess(pid);
      if (reading && reading.rssBytes > peak) peak = reading.rssBytes;
      return peak || null;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The results table.

export interface ScenarioResult {
  scenario: string;
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts plus answers that were not the expected status. */
  errors: number;
  /** Proxy CPU time per completed request, in microseconds; null when the proxy process is not local. */
  cpuUsPerRequest: number | null;
  /** Share of one core the proxy used during the run (1 = saturated). */
  cpuShare: number | null;
  rssBytes: number | null;
  /** req/s relative to the baseline measured in the same run. */
  ratio: number | null;
  note?: string;
}

const MIB = 1024 * 1024;

export function formatTable(rows: readonly ScenarioResult[]): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'CPU core', 'RSS MiB', '× baseline', 'errors'];
  const body = rows.map((r) => [
    r.scenario,
    r.rps.toFixed(0),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.cpuUsPerRequest === null ? 'n/a' : r.cpuUsPerRequest.toFixed(1),
    r.cpuShare === null ? 'n/a' : `${(r.cpuShare * 100).toFixed(0)}%`,
    r.rssBytes === null ? 'n/a' : (r.rssBytes / MIB).toFixed(1),
    r.ratio === null ? '' : r.ratio.toFixed(3),
    r.errors === 0 ? '0' : `${r.errors} (${((100 * r.errors) / Math.max(1, r.requests)).toFixed(1)}%)`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.scenario}: ${r.note}`);
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** Turns an autocannon result and the proxy's readings into one table row. */
export function scenarioResult(
  scenario: string,
  result: autocannon.Result,
  proxy: { before: ProcessReading | null; after: ProcessReading | null; peakRss: number | null },
  expectedStatus: (status: number) => boolean = (s) => s >= 200 && s < 300,
): ScenarioResult {
  const completed = result.requests.total;
  const seconds = result.duration;
  let unexpected = 0;
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    if (!expectedStatus(Number(code))) unexpected += stats.count ?? 0;
  }
  const cpu = proxy.before && proxy.after ? proxy.after.cpuSeconds - proxy.before.cpuSeconds : null;
  return {
    scenario,
    requests: completed,
    seconds,
    rps: completed / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + unexpected,
    cpuUsPerRequest: cpu === null || completed === 0 ? null : (cpu * 1e6) / completed,
    cpuShare: cpu === null ? null : cpu / seconds,
    rssBytes: proxy.peakRss,
    ratio: null,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Request generation.

export interface Mix {
  warm: number;
  cold: number;
}

export function parseMix(text: string): Mix {
  const mix: Mix = { warm: 0, cold: 0 };
  for (const part of text.split(',')) {
    const match = /^\s*(warm|cold)\s*:\s*(\d{1,3})\s*$/.exec(part);
    if (!match) throw new UsageError(`--mix: expected something like "warm:80,cold:20", got "${text}"`);
    mix[match[1] as keyof Mix] += Number(match[2]);
  }
  if (mix.warm + mix.cold !== 100) throw new UsageError(`--mix: the shares must add up to 100 (got ${mix.warm + mix.cold})`);
  return mix;
}

/**
 * Picks the credential of each request: cold shares take the next never-used credential, warm shares cycle
 * through a small pool the proxy has already seen. The choice is interleaved evenly (a cold request every
 * 100/cold requests), so a short run has the mix it asked for.
 */
export class CredentialPicker {
  #count = 0;
  #warmIndex = 0;
  #coldIndex = 0;
  exhausted = false;

  constructor(
    private readonly mix: Mix,
    private readonly warm: readonly string[],
    private readonly cold: readonly string[],
  ) {}

  next(): string {
    const slot = this.#count++ % 100;
    if (slot < this.mix.cold || this.warm.length === 0) {
      if (this.#coldIndex < this.cold.length) return this.cold[this.#coldIndex++]!;
      this.exhausted = true;
    }
    const token = this.warm[this.#warmIndex++ % Math.max(1, this.warm.length)];
    return token ?? this.cold[this.cold.length - 1] ?? '';
  }

  get coldUsed(): number {
    return this.#coldIndex;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The command.

class UsageError extends Error {
  override readonly name = 'UsageError';
}

const OPTIONS = {
  url: { type: 'string' },
  duration: { type: 'string', default: '10' },
  connections: { type: 'string', default: '64' },
  mix: { type: 'string', default: 'warm:100' },
  tokens: { type: 'string' },
  method: { type: 'string', default: 'GET' },
  'baseline-url': { type: 'string' },
  pid: { type: 'string' },
  json: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  scope: { type: 'string' },
  'token-url': { type: 'string' },
  'signing-key': { type: 'string' },
  kid: { type: 'string' },
  issuer: { type: 'string', default: 'portcullis' },
  audience: { type: 'string', default: 'itsm-api' },
  subject: { type: 'string' },
  'api-key': { type: 'string' },
  'pcr-user': { type: 'string' },
  'pcr-password': { type: 'string' },
  'login-url': { type: 'string' },
  'no-progress': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const LOADTEST_USAGE = `Usage: portcullis loadtest --url URL [credentials] [--mix warm:80,cold:20] [--duration S] [--connections N]

Credentials, one of:
  --client-id ID --client-secret S --username U --password P   tokens from the token endpoint (password grant)
  --signing-key FILE --kid ID [client credentials as above]   tokens minted locally with the deployment's key,
                                                               joined to one grant opened with the credentials
  --api-key KEY                                                PCR-360 key; write {key} where it goes in --url
  --api-key KEY --pcr-user U --pcr-password P                  PCR-360 header login; session tokens per request
Secrets may come from the environment instead: PORTCULLIS_CLIENT_SECRET, PORTCULLIS_PASSWORD,
PORTCULLIS_API_KEY, PORTCULLIS_PCR_PASSWORD.

Other options:
  --mix warm:W,cold:C   share of requests reusing a seen credential (warm) or bringing a new one (cold)
  --tokens N            credentials to prepare for the cold share (default: 2000 from the endpoint or a login,
                        20000 minted); the run stops early when they run out
  --method M            request method (default GET)
  --scope S             scope to ask for (default: none, the server's default)
  --token-url URL       token endpoint (default: /oauth/token on the host of --url)
  --login-url URL       PCR header-login URL (default: --url with its last segment replaced by authlogin.json)
  --baseline-url URL    a public route to measure first with the same load, for the "× baseline" column
  --pid PID             the proxy's process id, when it runs on this machine: adds CPU and RSS columns
  --json FILE           also write the results as JSON
  --no-progress         no progress bar`;

interface Plan {
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

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--${name}: expected a positive whole number, got "${text}"`);
  return Number(text);
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

async function planFor(values: Record<string, string | boolean | undefined>, connections: number, log: (line: string) => void): Promise<Plan> {
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

/** One request with the first credential, so refused credentials stop the run before it measures refusals. */
async function probe(plan: Plan): Promise<void> {
  const credential = plan.warm[0] ?? plan.cold[0];
  const headers: Record<string, string> = plan.header !== null && credential !== undefined ? { [plan.header]: credential } : {};
  const response = await fetch(plan.url, { method: plan.method, headers });
  const text = await response.text();
  if (response.status >= 400) {
    throw new Error(`a first ${plan.method} to ${plan.displayUrl} with these credentials was answered ${response.status}: ${text.slice(0, 300)}`);
  }
}

const bearer = (token: string) => `Bearer ${token}`;

export interface DriveOptions {
  url: string;
  method: string;
  connections: number;
  durationSeconds: number;
  /** Header carrying the credential, and how to pick one per request; none for credentials in the URL. */
  credential?: { header: string; picker: CredentialPicker } | undefined;
  headers?: Record<string, string>;
  body?: string;
  progress: boolean;
  /** Stop after this many requests. */
  amount?: number;
}

/** Runs autocannon once; resolves with its result. */
export function drive(options: DriveOptions): Promise<autocannon.Result> {
  const credential = options.credential;
  const request: autocannon.Request = { method: options.method as autocannon.Request['method'] };
  let instance: autocannon.Instance | null = null;
  if (credential) {
    request.setupRequest = (req) => {
      const value = credential.picker.next();
      if (credential.picker.exhausted && instance !== null) instance.stop();
      return { ...req, headers: { ...options.headers, [credential.header]: value } };
    };
  }
  const settings: autocannon.Options = {
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    duration: options.durationSeconds,
    requests: [request],
    headers: options.headers ?? {},
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.amount !== undefined ? { amount: options.amount } : {}),
  };
  return new Promise((resolve, reject) => {
    instance = autocannon(settings, (error: unknown, result: autocannon.Result) => (error ? reject(error as Error) : resolve(result)));
    if (options.progress) {
      autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false, outputStream: process.stderr });
    }
  });
}

export async function runLoadtest(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options: OPTIONS, allowPositionals: false }).values;
  } catch (error) {
    console.error(`portcullis loadtest: ${(error as Error).message}\n\n${LOADTEST_USAGE}`);
    return 2;
  }
  if (values['help'] === true) {
    console.log(LOADTEST_USAGE);
    return 0;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const connections = positiveInt('connections', values['connections'] as string | undefined, 64);
    const duration = positiveInt('duration', values['duration'] as string | undefined, 10);
    const pidText = values['pid'] as string | undefined;
    const pid = pidText === undefined ? null : positiveInt('pid', pidText, 0);
    const plan = await planFor(values, connections, log);
    const progress = values['no-progress'] !== true && process.stderr.isTTY === true;
    const rows: ScenarioResult[] = [];

    const measure = async (label: string, run: () => Promise<autocannon.Result>, note?: string) => {
      log(`${label}: ${duration}s, ${connections} connections`);
      const before = pid === null ? null : readProcess(pid);
      const rss = watchRss(pid);
      const result = await run();
      const row = scenarioResult(label, result, { before, after: pid === null ? null : readProcess(pid), peakRss: rss.stop() });
      if (note) row.note = note;
      rows.push(row);
      return row;
    };

    const baselineUrl = values['baseline-url'] as string | undefined;
    let baseline: ScenarioResult | null = null;
    if (baselineUrl !== undefined) {
      baseline = await measure('baseline', () => drive({ url: new URL(baselineUrl).toString(), method: plan.method, connections, durationSeconds: duration, progress }));
    }
    await probe(plan);
    const picker = plan.header === null ? null : new CredentialPicker(plan.mix, plan.warm, plan.cold);
    // The warm pool is shown to the proxy once before measuring, so "warm" means what it says from the start.
    if (picker !== null && plan.warm.length > 0) {
      await Promise.all(plan.warm.map((value) => fetch(plan.url, { method: plan.method, headers: { [plan.header!]: value } }).then((r) => r.arrayBuffer()).catch(() => null)));
    }
    const row = await measure(plan.label, () =>
      drive({ url: plan.url, method: plan.method, connections, durationSeconds: duration, progress, credential: picker ? { header: plan.header!, picker } : undefined }),
    );
    if (picker?.exhausted) row.note = `the ${plan.cold.length} cold credentials ran out after ${row.seconds.toFixed(1)}s; the run stopped there (raise --tokens)`;
    if (baseline) row.ratio = row.rps / baseline.rps;
    if (baseline) baseline.ratio = 1;

    process.stdout.write(`\n${formatTable(rows)}\n`);
    if (rows.some((r) => r.errors > 0)) {
      process.stdout.write('\nSome requests failed or were refused: check the credentials and the proxy log before reading the numbers.\n');
    }
    const jsonFile = values['json'] as string | undefined;
    if (jsonFile !== undefined) {
      writeFileSync(jsonFile, `${JSON.stringify({ url: plan.displayUrl, connections, duration, mix: plan.mix, results: rows }, null, 2)}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`portcullis loadtest: ${error.message}\n\n${LOADTEST_USAGE}`);
      return 2;
    }
    console.error(`portcullis loadtest: ${(error as Error).message}`);
    return 1;
  }
}
