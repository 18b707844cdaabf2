// A real nginx for the forward-auth tests: Debian's nginx-light, started in the foreground on a free loopback port
// with a config in a temporary directory (its own pid file, errors to stderr, temp paths of its own). Without an
// nginx binary the suites that need it are skipped with a loud warning, unless CI / PORTCULLIS_REQUIRE_NGINX=1
// asks for them, when the run fails instead.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe } from 'vitest';
import { findOnPath, isExecutable, toolRequired } from '../setup/external-tools.js';
import { freePort } from '../setup/global-redis.js';

/** Set in CI, or by hand, to turn "no nginx available" from a skip into a failure. */
export const nginxRequired = (): boolean => toolRequired('NGINX');

/** PORTCULLIS_NGINX, or nginx on PATH, or where Debian installs it (sbin is not on every user's PATH). */
export function findNginxBinary(): string | null {
  const configured = process.env.PORTCULLIS_NGINX;
  if (configured) return isExecutable(configured) ? configured : null;
  return findOnPath('nginx', ['/usr/sbin', '/usr/local/sbin']);
}

export const NGINX_BINARY = findNginxBinary();

if (NGINX_BINARY === null) {
  if (nginxRequired()) {
    throw new Error('nginx is required for this test run (CI or PORTCULLIS_REQUIRE_NGINX=1) but none was found. Install nginx-light or set PORTCULLIS_NGINX.');
  }
  console.warn('\n!!! SKIPPING the nginx forward-auth tests: no nginx binary (apt-get install nginx-light, or set PORTCULLIS_NGINX) !!!\n');
}

/** `describe` for suites that run nginx: skipped when there is none (see above). */
export const describeNginx: typeof describe = NGINX_BINARY !== null ? describe : (describe.skip as typeof describe);

export interface RunningNginx {
  port: number;
  url: string;
  /** What nginx wrote to stderr so far (its error log). */
  errors(): string;
  close(): Promise<void>;
}

/**
 * Starts nginx with `httpBody` (upstream and server blocks; `listenPort` is where the server must listen) inside an
 * http block that points every temp path into a fresh directory. Resolves once the port accepts connections.
 */
export async function startNginx(httpBody: (listenPort: number) => string): Promise<RunningNginx> {
  if (NGINX_BINARY === null) throw new Error('no nginx binary');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-nginx-'));
  // Run as root, nginx's workers drop to an unprivileged user that must still reach the temp paths below.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const config = [
    'worker_processes 1;',
    'events { worker_connections 256; }',
    'http {',
    '    access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `    ${kind}_temp_path ${join(dir, kind)};`),
    httpBody(port),
    '}',
    '',
  ].join('\n');
  const configFile = join(dir, 'nginx.conf');
  writeFileSync(configFile, config);
  let stderr = '';
  const child: ChildProcess = spawn(NGINX_BINARY, ['-p', dir, '-c', configFile, '-g', `daemon off; pid ${join(dir, 'nginx.pid')}; error_log stderr;`], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`nginx exited at start (code ${child.exitCode}):\n${stderr}\n--- config ---\n${config}`);
    }
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not listen on ${port} within 10 s:\n${stderr}`);
    }
    await sleep(50);
  }
  return { port, url: `http://127.0.0.1:${port}`, errors: () => stderr, close: stop };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
