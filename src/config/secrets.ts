// Turns the config's secret sources into what the running proxy needs: verifiable hashes for secrets that
// clients present (passwords, client secrets, API keys, the admin token) and plain values only for secrets the
// proxy itself must send (an upstream API key, a Redis password). Plain values come from env or files only.

import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { hashSecret, parseSecretHash } from '../secrets/hash.js';
import type { StoredSecret } from '../secrets/verifier.js';
import type { SecretSourceInput } from './schema.js';

export interface ResolveContext {
  baseDir: string;
  env: NodeJS.ProcessEnv;
  problems: { path: (string | number)[]; message: string }[];
}

const SHA256_HASH = /^sha256\$[A-Za-z0-9_-]{43}$/;

export const PLAINTEXT_SECRET_MESSAGE =
  'expected a hash (run "portcullis hash-secret", or "portcullis generate-key" for API keys); plain secrets may only come from { env } or { file }';

/** The fast hash used for API keys: they are 256-bit random values, so a salted slow hash adds nothing. */
export function sha256KeyHash(key: string): string {
  // The one-shot crypto.hash: it skips the Hash object, which is most of the cost for a key this short (280 ns
  // against 670 ns), and it runs on every request that presents an API key.
  return `sha256$${hash('sha256', key, 'base64url')}`;
}

export function isSha256KeyHash(text: string): boolean {
  return SHA256_HASH.test(text);
}

function readSource(
  source: { env: string } | { file: string },
  path: (string | number)[],
  context: ResolveContext,
): string | null {
  if ('env' in source) {
    const value = context.env[source.env];
    if (value === undefined || value === '') {
      context.problems.push({ path, message: `environment variable ${source.env} is not set` });
      return null;
    }
    return value;
  }
  const file = isAbsolute(source.file) ? source.file : resolve(context.baseDir, source.file);
  try {
    // A trailing newline is how editors and `echo` save a one-line secret; it is never part of it.
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    context.problems.push({ path, message: `cannot read secret file ${source.file} (${code})` });
    return null;
  }
}

/** A password-like secret, stored as scrypt: a literal must already be a hash; env/file may hold a hash or the secret. */
export async function resolvePasswordHash(
  source: SecretSourceInput,
  path: (string | number)[],
  context: ResolveContext,
): Promise<StoredSecret | null> {
  const text = typeof source === 'string' ? source : readSource(source, path, context);
  if (text === null) return null;
  const parsed = parseSecretHash(text);
  if (parsed) return { text, parsed };
  if (typeof source === 'string') {
    context.problems.push({
      path,
      message: 'expected a scrypt hash (run "portcullis hash-secret"); plain secrets may only come from { env } or { file }',
    });
    return null;
  }
  const hashed = await hashSecret(text);
  return { text: hashed, parsed: parseSecretHash(hashed)! };
}

/** An API key, stored as `sha256$...`: a literal must be that hash; env/file may hold the hash or the key itself. */
export function resolveKeyHash(source: SecretSourceInput, path: (string | number)[], context: ResolveContext): string | null {
  const text = typeof source === 'string' ? source : readSource(source, path, context);
  if (text === null) return null;
  if (isSha256KeyHash(text)) return text;
  if (typeof source === 'string') {
    context.problems.push({
      path,
      message: 'expected a key hash like "sha256$..." (run "portcullis generate-key"); plain keys may only come from { env } or { file }',
    });
    return null;
  }
  return sha256KeyHash(text);
}

/** A secret the proxy sends itself (an upstream key, a Redis password): env or file only. */
export function resolvePlainSecret(
  source: SecretSourceInput | { env: string } | { file: string },
  path: (string | number)[],
  context: ResolveContext,
): string | null {
  if (typeof source === 'string') {
    context.problems.push({ path, message: 'a secret may not be written in the config: use { env: NAME } or { file: PATH }' });
    return null;
  }
  return readSource(source, path, context);
}

export function readKeyMaterial(
  source: { env: string } | { file: string },
  path: (string | number)[],
  context: ResolveContext,
): string | null {
  return readSource(source, path, context);
}
