// The `portcullis` command: check-config on good and broken files, hash-secret, generate-key, and start → listen →
// SIGTERM → exit 0. Exit codes, stdin and signals are checked on real child processes; what needs no process of its
// own (a summary, key generation, refusals before anything starts) runs in-process, as every child pays for loading
// the whole proxy.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCheckConfig } from '../../src/cli/check-config.js';
import { runGenerateKey } from '../../src/cli/secrets.js';
import { runStart } from '../../src/cli/start.js';
import { sha256KeyHash } from '../../src/config/secrets.js';
import { parseSecretHash, verifySecret } from '../../src/secrets/hash.js';
import { startEchoUpstream } from '../helpers/echo-upstream.js';
import { SECRETS } from '../fixtures/secrets.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = fileURLToPath(new URL('../helpers/cli-runner.ts', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cliProcess(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  // A clean environment: the developer's PORTCULLIS_* variables must not change what the command does.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PORTCULLIS_')));
  return spawn(process.execPath, ['--import', 'tsx', RUNNER, ...args], { cwd: REPO, env: { ...inherited, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
}

function collect(child: ChildProcess, stdin?: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  if (stdin !== undefined) child.stdin!.end(stdin);
  else child.stdin!.end();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function cli(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return collect(cliProcess(args, options.env), options.stdin);
}

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'portcullis-cli-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// Child processes load the whole proxy through tsx; on a busy machine that alone can take seconds.
describe.concurrent('commands in child processes', { timeout: 60_000 }, () => {
  it('check-config refuses a broken config with a non-zero exit, listing every problem with its path', async ({ expect }) => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(
      file,
      [
        'listen:',
        '  prot: 8080',
        'upstream:',
        '  url: not a url',
        'oauth:',
        '  clients:',
        '    - id: public-api',
        `      secret: ${SECRETS.clientSecretHash}`,
        '      accessTokenTtl: 1 hour',
        '      refreshTokenTtl: 8h',
        '      grants: [password]',
        'routes:',
        '  - id: api',
        '    path: /api/**',
      ].join('\n'),
    );
    const run = await cli(['check-config', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${file}: 4 problems:`);
    for (const line of [
      'listen.prot: unknown key',
      'upstream.url: expected "demo" or an http(s) URL',
      'oauth.clients[0].accessTokenTtl: expected a duration like "1h"',
      'routes[0].authenticators: required unless the route is public',
    ]) {
      expect(run.stderr).toContain(`  ${line}`);
    }
    expect(run.stderr).not.toMatch(/\bat \S+ \(/);
  });

  it('hash-secret reads the secret from stdin and prints a hash that verifies it', async ({ expect }) => {
    const run = await cli(['hash-secret'], { stdin: 'p:ss%word+1\n' });
    expect(run.code, run.stderr).toBe(0);
    const hash = run.stdout.trim();
    expect(hash).toMatch(/^scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    const parsed = parseSecretHash(hash)!;
    expect(await verifySecret('p:ss%word+1', parsed)).toBe(true);
    expect(await verifySecret('p:ss%word+1\n', parsed)).toBe(false);
  });

  it('start prints where it listens, serves requests, and exits 0 on SIGTERM', async ({ expect }) => {
    const upstream = await startEchoUpstream();
    const child = cliProcess(['start', '--config', 'config/example.yaml', '--port', '0', '--admin-port', '0', '--upstream', upstream.url], {
      PORTCULLIS_LOG_LEVEL: 'warn',
    });
    const done = collect(child);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`no "listening" line within 30 s:\n${seen}`)), 30_000);
        child.stderr!.on('data', (chunk: Buffer) => {
          seen += chunk.toString('utf8');
          const match = /Portcullis listening on (http:\/\/\S+)/.exec(seen);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.once('close', () => reject(new Error(`exited before listening:\n${seen}`)));
      });
      expect(new URL(url).port).not.toBe('0');
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      // The --upstream override replaced the example's demo backend.
      const home = await fetch(`${url}/`);
      expect(home.status).toBe(200);
      expect(upstream.requests.map((r) => r.url)).toEqual(['/']);
      child.kill('SIGTERM');
      const run = await done;
      expect(run.signal).toBeNull();
      expect(run.code, run.stderr).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await upstream.close();
    }
  });
});

describe('commands in-process', () => {
  function capture(stream: 'log' | 'error'): { text: () => string; restore: () => void } {
    const lines: string[] = [];
    const spy = vi.spyOn(console, stream).mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    return { text: () => lines.join('\n'), restore: () => spy.mockRestore() };
  }
  const captureStderr = () => capture('error');

  it('check-config accepts config/example.yaml and prints a summary', async () => {
    const stdout = capture('log');
    try {
      expect(await runCheckConfig(['config/example.yaml'])).toBe(0);
      const text = stdout.text();
      expect(text).toMatch(/^config\/example\.yaml: OK$/m);
      expect(text).toContain('built-in demo backend');
      expect(text).toMatch(/oauth\s+scope "public-api", 4 client\(s\): public-api \[password, refresh_token; access 1h, refresh 8h\]/);
      expect(text).toMatch(/resource-server \[password; access 1h, refresh 8h; introspects\]/);
      expect(text).toMatch(/monitoring \[client_credentials; access 15m, refresh 8h; acts as "svc-monitoring"\]/);
      expect(text).toMatch(/external\s+none/);
      expect(text).toMatch(/forward-auth off/);
      expect(text).toMatch(/operators\s+2 \(2 with API access\)/);
      expect(text).not.toMatch(/scrypt\$|sha256\$/);
    } finally {
      stdout.restore();
    }
  });

  it('generate-key prints a new key and the sha256 hash that matches it', async () => {
    const stdout = capture('log');
    try {
      expect(await runGenerateKey([])).toBe(0);
      expect(await runGenerateKey([])).toBe(0);
      const keys = [...stdout.text().matchAll(/^key:\s+(\S+)$/gm)].map((m) => m[1]!);
      const hashes = [...stdout.text().matchAll(/^hash:\s+(\S+)$/gm)].map((m) => m[1]!);
      expect(keys).toHaveLength(2);
      expect(keys[0]).not.toBe(keys[1]);
      for (const [i, key] of keys.entries()) {
        expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(hashes[i]).toBe(sha256KeyHash(key));
      }
    } finally {
      stdout.restore();
    }
  });

  it('check-config without a file exits 2 and says how to name one', async () => {
    const stderr = captureStderr();
    try {
      expect(await runCheckConfig([])).toBe(2);
      expect(stderr.text()).toContain('check-config FILE');
    } finally {
      stderr.restore();
    }
  });

  it('start with a broken config exits 1 with the problems and does not listen', async () => {
    const file = join(dir, 'start-broken.yaml');
    writeFileSync(file, 'upstream:\n  url: http://127.0.0.1:1\nroutes: []\n');
    const stderr = captureStderr();
    try {
      expect(await runStart(['--config', file, '--port', '0', '--admin-port', '0'])).toBe(1);
      expect(stderr.text()).toContain(`${file}: 1 problem:`);
      expect(stderr.text()).toMatch(/routes: /);
    } finally {
      stderr.restore();
    }
  });

  it('start with a port that is not a number exits 1 and names the flag', async () => {
    const stderr = captureStderr();
    try {
      expect(await runStart(['--config', 'config/example.yaml', '--port', 'eighty'])).toBe(1);
      expect(stderr.text()).toContain('--port: expected a port number from 0 to 65535');
    } finally {
      stderr.restore();
    }
  });
});
