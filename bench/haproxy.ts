// The `haproxy-jwt` comparator: HAProxy (2.5 or later) in front of the same bench upstream, verifying an ES256
// JWT on every request with its own jwt_verify converter, so the table can say what Portcullis costs next to a
// proxy that checks signatures in C. It runs the way the proxy child does: one thread, pinned to the proxy's core
// when pinning, keep-alive to the upstream, no logging. It caches nothing, so every request is a signature check:
// that is the cost Portcullis's warm bearer path (a cache hit) is compared with.

import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintAccessTokens } from '../src/cli/loadtest.js';
import { freePort, onPath, type Placement } from './harness.js';
import type { Load } from './scenarios.js';

export const HAPROXY_JWT = 'haproxy-jwt';

export interface Haproxy {
  url: string;
  pid: number;
  version: string;
  load: Load;
  stop(): Promise<void>;
}

function config(port: number, upstream: URL, publicKeyFile: string): string {
  return `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-request 10s
  timeout http-keep-alive 60s

frontend bench
  bind 127.0.0.1:${port}
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str ES256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"${publicKeyFile}") -m int 1 }
  default_backend upstream

backend upstream
  server upstream ${upstream.hostname}:${upstream.port}
`;
}

async function status(url: string, token: string | null): Promise<number> {
  const response = await fetch(url, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

/** Starts haproxy and checks it accepts its token and refuses a tampered one; a reason instead when there is none. */
export async function startHaproxy(options: { dir: string; upstreamUrl: string; place: Placement }): Promise<Haproxy | string> {
  const binary = onPath('haproxy');
  if (binary === null) return 'skipped: no haproxy on PATH';
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyFile = join(options.dir, 'es256.pub.pem');
  writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  // Shaped like the access tokens Portcullis issues, so both proxies parse a header of the same size.
  const [token] = mintAccessTokens(
    { key: privateKey, kid: 'haproxy-bench', alg: 'ES256', issuer: 'portcullis', audience: 'itsm-api', subject: 'bench-operator', clientId: 'bench-client', scope: 'public-api', ttlSeconds: 3600 },
    1,
  );
  const port = await freePort();
  const cfg = join(options.dir, 'haproxy.cfg');
  writeFileSync(cfg, config(port, new URL(options.upstreamUrl), publicKeyFile));
  const args = ['-f', cfg, '-db'];
  const child = options.place.pinned ? spawn('taskset', ['-c', options.place.proxyCpu, binary, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}/api/tickets`;
  const deadline = Date.now() + 10_000;
  let accepted: number | null = null;
  while (accepted === null) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not start:\n${stderr}`);
    }
    accepted = await status(url, token!).catch(() => null);
    if (accepted === null) await new Promise((r) => setTimeout(r, 50));
  }
  // A different first signature character: still well-formed, no longer valid.
  const dot = token!.lastIndexOf('.');
  const tampered = `${token!.slice(0, dot + 1)}${token![dot + 1] === 'A' ? 'B' : 'A'}${token!.slice(dot + 2)}`;
  const refused = await status(url, tampered);
  const missing = await status(url, null);
  if (accepted !== 200 || refused !== 401 || missing !== 401) {
    child.kill('SIGKILL');
    throw new Error(`haproxy-jwt does not check tokens as it should: its token ${accepted}, a tampered one ${refused}, none ${missing} (want 200, 401, 401)\n${stderr}`);
  }
  const version = await new Promise<string>((resolve) => {
    const probe = spawn(binary, ['-v'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    probe.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    probe.once('close', () => resolve(/version (\S+)/.exec(out)?.[1] ?? 'unknown'));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    version,
    load: { request: { method: 'GET', path: '/api/tickets', headers: { authorization: `Bearer ${token!}` } } },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      process.off('exit', killOnExit);
    },
  };
}
