// Secret hashing for everything the config stores (client secrets, operator and API-user passwords, API keys,
// the admin token): scrypt with a per-secret salt, in a self-describing string so parameters can change later.
// Format: scrypt$N=16384,r=8,p=1$<salt base64url>$<hash base64url>

import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const PREFIX = 'scrypt$';
const KEY_LENGTH = 32;
const DEFAULT_PARAMS = { N: 16384, r: 8, p: 1 } as const;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function scrypt(secret: string | Buffer, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export function isSecretHash(text: string): boolean {
  return parseSecretHash(text) !== null;
}

export function parseSecretHash(text: string): ParsedHash | null {
  if (!text.startsWith(PREFIX)) return null;
  const parts = text.split('$');
  if (parts.length !== 4) return null;
  const params = new Map<string, number>();
  for (const pair of (parts[1] as string).split(',')) {
    const [name, value] = pair.split('=');
    if (!name || !value || !/^\d+$/.test(value)) return null;
    params.set(name, Number(value));
  }
  const N = params.get('N');
  const r = params.get('r');
  const p = params.get('p');
  if (!N || !r || !p || params.size !== 3) return null;
  // Power of two and bounded, so a hostile config cannot make every login allocate gigabytes.
  if ((N & (N - 1)) !== 0 || N < 1024 || N > 1 << 20 || r > 32 || p > 16) return null;
  const salt = Buffer.from(parts[2] as string, 'base64url');
  const hash = Buffer.from(parts[3] as string, 'base64url');
  if (salt.length < 8 || hash.length < 16) return null;
  return { N, r, p, salt, hash };
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p } = DEFAULT_PARAMS;
  const hash = await scrypt(secret, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r });
  return `${PREFIX}N=${N},r=${r},p=${p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Constant-time check of `secret` against a stored hash. A malformed stored hash never matches. */
export async function verifySecret(secret: string, stored: ParsedHash): Promise<boolean> {
  const candidate = await scrypt(secret, stored.salt, stored.hash.length, {
    N: stored.N,
    r: stored.r,
    p: stored.p,
    maxmem: 256 * stored.N * stored.r,
  });
  return timingSafeEqual(candidate, stored.hash);
}

/**
 * A hash of a secret nobody knows, verified when the account looked up does not exist, so that a login for an
 * unknown name costs the same time as a wrong password and does not reveal which names exist.
 */
let decoyHash: Promise<ParsedHash> | null = null;
export function decoyHashForTiming(): Promise<ParsedHash> {
  decoyHash ??= hashSecret(randomBytes(16).toString('hex')).then((text) => parseSecretHash(text) as ParsedHash);
  return decoyHash;
}
