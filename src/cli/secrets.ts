// Tools that produce what a config stores instead of secrets: scrypt hashes, API keys with their hashes, and
// token-signing keys.

import { parseArgs } from 'node:util';
import { hashSecret } from '../secrets/hash.js';
import { sha256KeyHash } from '../config/secrets.js';
import { generateSigningKey, type SigningAlgorithm } from '../tokens/keyring.js';
import { generatedSecret } from '../secrets/generate.js';

async function readSecretFromStdin(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    // Asked interactively, without echo, so the secret lands neither on screen nor in shell history.
    process.stderr.write('Secret: ');
    stdin.setRawMode(true);
    return new Promise((resolve, reject) => {
      let secret = '';
      const onData = (data: Buffer) => {
        for (const char of data.toString('utf8')) {
          if (char === '\r' || char === '\n') {
            stdin.setRawMode(false);
            stdin.pause();
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(secret);
            return;
          }
          if (char === '\u0003') {
            stdin.setRawMode(false);
            reject(new Error('cancelled'));
            return;
          }
          if (char === '\u007f') secret = secret.slice(0, -1);
          else secret += char;
        }
      };
      stdin.on('data', onData);
      stdin.resume();
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function runHashSecret(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  const secret = await readSecretFromStdin();
  if (secret.length === 0) {
    console.error('portcullis hash-secret: the secret is empty');
    return 1;
  }
  console.log(await hashSecret(secret));
  return 0;
}

export async function runGenerateKey(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  const key = generatedSecret();
  console.log(`key:  ${key}\nhash: ${sha256KeyHash(key)}\n\nGive the key to the API client; put only the hash in the config (pcr.keys[].key).`);
  return 0;
}

export async function runGenerateSigningKey(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { alg: { type: 'string', default: 'RS256' }, kid: { type: 'string' } } });
  const alg = values.alg as SigningAlgorithm;
  if (!['RS256', 'ES256', 'EdDSA'].includes(alg)) {
    console.error('portcullis generate-signing-key: --alg must be RS256, ES256 or EdDSA');
    return 2;
  }
  const key = generateSigningKey(alg, values.kid ?? `key-${new Date().toISOString().slice(0, 10)}`);
  process.stderr.write(`# kid: ${key.kid} (${alg}). Save this PEM to a file readable only by the proxy and reference it from tokens.signingKeys.\n`);
  process.stdout.write(key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  return 0;
}
