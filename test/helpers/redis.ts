// Redis helpers for tests: the shared server's URL (or a skip), per-test key prefixes and their cleanup, and
// private redis-server processes that fault tests may stop, pause and restart without disturbing anyone else.

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { findRedisServerBinary, redisRequired, spawnRedisServer, type RedisServerProcess } from '../setup/global-redis.js';

/** The shared Redis for this run, or null when there is none (Redis suites then skip). */
export function sharedRedisUrl(): string | null {
  return inject('redisUrl');
}

/** For a single test: the shared Redis URL, or skips the test (through its context) when there is none. */
export function redisUrlOrSkip(ctx: { skip(note?: string): void }): string {
  const url = sharedRedisUrl();
  if (url === null) {
    ctx.skip('no Redis available');
    throw new Error('unreachable: skip() did not stop the test');
  }
  return url;
}

/** A key prefix no other test file or run can collide with. */
export function uniqueKeyPrefix(label = 'test'): string {
  return `portcullis-test:${label}:${randomUUID()}:`;
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** Deletes every key under `prefix`; used after each test so the shared server does not fill up. */
export async function flushKeyPrefix(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {}); // connect() rejects with the same error
  try {
    await client.connect();
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

/** A redis-server owned by one test file, on its own port, which survives stop()/start() cycles. */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** Terminates the server: clients see the connection drop and further connects refused. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty, as nothing is persisted). */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open but nothing is answered, as with a hung server. */
  pause(): void;
  resume(): void;
  /** Final cleanup; safe to call in any state. */
  close(): Promise<void>;
}

export function privateRedisAvailable(): boolean {
  return findRedisServerBinary() !== null;
}

/**
 * Starts a private redis-server, or returns null when the binary is missing and Redis is not required
 * (the caller then skips). With CI / PORTCULLIS_REQUIRE_REDIS=1 a missing binary is an error.
 */
export async function startPrivateRedis(): Promise<PrivateRedis | null> {
  const binary = findRedisServerBinary();
  if (!binary) {
    if (redisRequired()) throw new Error('redis-server is required for fault tests but is not on PATH');
    return null;
  }
  let server: RedisServerProcess | null = await spawnRedisServer(binary);
  const port = server.port;
  let paused = false;
  const resume = () => {
    if (server && paused) server.child.kill('SIGCONT');
    paused = false;
  };
  return {
    url: server.url,
    port,
    async stop() {
      resume();
      await server?.stop();
      server = null;
    },
    async start() {
      if (server) return;
      server = await spawnRedisServer(binary, port);
    },
    pause() {
      if (!server) throw new Error('private redis-server is not running');
      server.child.kill('SIGSTOP');
      paused = true;
    },
    resume,
    async close() {
      resume();
      await server?.stop();
      server = null;
    },
  };
}

/** Polls `check` until it resolves without throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
