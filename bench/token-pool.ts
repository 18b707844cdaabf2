// Tokens minted for the cold and memory scenarios, signed in one child process per core before a scenario starts
// (RS256 signs ~3k/s per core, ES256 ~25k/s, both far slower than verifying a cached token). They are kept as
// chunks of bytes and handed out once each; chunks already handed out are let go.

import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { MintSettings, TokenAlgorithm } from '../src/cli/loadtest.js';
import { BENCH_DIR } from './harness.js';

interface Chunk {
  data: Buffer;
  ends: Uint32Array;
}

export class TokenPool {
  readonly #chunks: (Chunk | null)[] = [];
  #chunk = 0;
  #index = 0;
  #length = 0;
  #used = 0;
  #last: string | null = null;
  /** Set once next() was asked for more tokens than the pool holds. */
  exhausted = false;

  /** A pool of tokens already in hand (a few, minted in this process). */
  static of(tokens: readonly string[]): TokenPool {
    const pool = new TokenPool();
    const ends = new Uint32Array(tokens.length);
    let offset = 0;
    tokens.forEach((token, i) => (ends[i] = offset += token.length));
    pool.add({ data: Buffer.from(tokens.join(''), 'latin1'), ends });
    return pool;
  }

  add(chunk: Chunk): void {
    this.#chunks.push(chunk);
    this.#length += chunk.ends.length;
  }

  get length(): number {
    return this.#length;
  }

  /** How many distinct tokens next() has handed out. */
  get used(): number {
    return this.#used;
  }

  /** The next token never handed out before; once all were, the last one again (and `exhausted` is set). */
  next(): string {
    for (;;) {
      const chunk = this.#chunks[this.#chunk];
      if (chunk === undefined || chunk === null) {
        this.exhausted = true;
        return this.#last ?? '';
      }
      if (this.#index < chunk.ends.length) {
        const start = this.#index === 0 ? 0 : chunk.ends[this.#index - 1]!;
        const token = chunk.data.toString('latin1', start, chunk.ends[this.#index]!);
        this.#index++;
        this.#used++;
        this.#last = token;
        return token;
      }
      this.#chunks[this.#chunk++] = null;
      this.#index = 0;
    }
  }
}

export type PoolSettings = Omit<MintSettings, 'key'> & { keyPem: string; alg: TokenAlgorithm };

/** Mints `count` tokens in one child process per core; the caller unpins itself first so they get both. */
export async function mintPool(settings: PoolSettings, count: number): Promise<TokenPool> {
  const pool = new TokenPool();
  const workers = Math.max(1, availableParallelism());
  const per = Math.ceil(count / workers);
  await Promise.all(
    Array.from({ length: workers }, (_, i) => {
      const n = Math.max(0, Math.min(per, count - i * per));
      return new Promise<void>((resolve, reject) => {
        if (n === 0) return resolve();
        const child = fork(join(BENCH_DIR, 'mint-worker.ts'), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        child.on('message', (message: { data?: Uint8Array; ends?: Uint32Array; done?: boolean }) => {
          if (message.done) resolve();
          else pool.add({ data: Buffer.from(message.data!.buffer, message.data!.byteOffset, message.data!.byteLength), ends: message.ends! });
        });
        child.once('error', reject);
        child.once('exit', (code) => {
          if (code !== 0) reject(new Error(`token minting failed (exit ${code})`));
        });
        child.send({ settings, count: n });
      });
    }),
  );
  return pool;
}
