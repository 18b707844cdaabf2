// Vitest global setup: provides a Redis URL to the test workers, from REDIS_URL or from a throwaway
// redis-server on a free loopback port. Also home of the helpers that start such servers.

import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import type { TestProject } from 'vitest/node';
import { findOnPath, toolRequired } from './external-tools.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a Redis the tests may use, or null when none is available and Redis tests are to be skipped. */
    redisUrl: string | null;
  }
}

/** Set in CI, or by hand, to turn "no Redis available" from a skip into a failure. */
export const redisRequired = (): boolean => toolRequired('REDIS');

export const findRedisServerBinary = (): string | null => findOnPath('redis-server');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

/** One PING over a raw socket; resolves true on +PONG. Avoids depending on the client under test. */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export interface RedisServerProcess {
  port: number;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts redis-server without persistence on `port` (a free one if omitted) and waits until it answers. */
export async function spawnRedisServer(binary: string, port?: number): Promise<RedisServerProcess> {
  // A port found free can be taken again before redis-server binds it, so a fresh one is tried a few times.
  const attempts = port === undefined ? 3 : 1;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const p = port ?? (await freePort());
    try {
      return await spawnOnce(binary, p);
    } catch (err) {
      lastError = err as Error;
    }
  }
  throw lastError ?? new Error('redis-server did not start');
}

async function spawnOnce(binary: string, port: number): Promise<RedisServerProcess> {
  const child = spawn(
    binary,
    ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  // Safety net for a test run that is interrupted before teardown: never leave a server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      process.off('exit', killOnExit);
      resolve();
    });
    child.once('error', (err) => {
      exited = true;
      output += `\n${err.message}`;
      resolve();
    });
  });

  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exit;
    clearTimeout(timer);
  };

  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await pingRedis(port)) {
      // Only the startup chatter was needed; an undrained pipe would eventually block the server.
      child.stdout?.resume();
      child.stderr?.resume();
      return { port, url: `redis://127.0.0.1:${port}`, child, stop };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await stop();
  throw new Error(`redis-server did not start on port ${port}:\n${output.trim()}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    project.provide('redisUrl', fromEnv);
    return async () => {};
  }
  const binary = findRedisServerBinary();
  if (!binary) {
    if (redisRequired()) {
      throw new Error(
        'Redis is required for this test run (CI or PORTCULLIS_REQUIRE_REDIS=1) but REDIS_URL is not set and ' +
          'no redis-server binary is on PATH. Install redis-server or point REDIS_URL at a server.',
      );
    }
    project.provide('redisUrl', null);
    return async () => {};
  }
  const server = await spawnRedisServer(binary);
  project.provide('redisUrl', server.url);
  return () => server.stop();
}
