// The command line of `portcullis loadtest`: its options, its usage text, and the checks that turn a bad value
// into a usage message rather than a stack trace.

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const LOADTEST_OPTIONS = {
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

export function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--${name}: expected a positive whole number, got "${text}"`);
  return Number(text);
}
