// `portcullis check-config` on configs with TLS sections, as a real child process: the certificate problems of
// every section at once with exit 1, and warnings (a certificate near its end) that still exit 0.

import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCliConfig } from '../helpers/cli-process.js';
import { createCertificateAuthority, issueLocalhost, type CertificateAuthority, type PemPair } from '../helpers/tls-certs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = fileURLToPath(new URL('../helpers/cli-runner.ts', import.meta.url));
const DAY_MS = 86_400_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function checkConfig(file: string): Promise<Run> {
  // A clean environment: the developer's PORTCULLIS_* variables must not change what the command does.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PORTCULLIS_')));
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, 'check-config', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A config beside its PEM files, which it names relative to itself as an operator would. */
function configWith(pems: Record<string, string>, edit: (config: Record<string, Record<string, unknown>>) => void): string {
  const file = writeCliConfig('https://127.0.0.1:9', (config) => edit(config as Record<string, Record<string, unknown>>));
  for (const [name, pem] of Object.entries(pems)) writeFileSync(join(dirname(file), name), pem);
  configs.push(file);
  return file;
}

const configs: string[] = [];
let ca: CertificateAuthority;
let good: PemPair;
let expired: PemPair;
let expiring: PemPair;
let stranger: PemPair;
const expiringOn = new Date(Date.now() + 5 * DAY_MS);

beforeAll(async () => {
  ca = await createCertificateAuthority('CLI Test CA');
  good = await issueLocalhost(ca);
  expired = await issueLocalhost(ca, { notBefore: new Date(Date.now() - 60 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
  expiring = await ca.issue({ commonName: 'portcullis-client', usage: 'client', notAfter: expiringOn });
  stranger = await issueLocalhost(ca);
});

afterAll(() => {
  for (const file of configs) rmSync(dirname(file), { recursive: true, force: true });
});

describe.concurrent('check-config with TLS files', { timeout: 60_000 }, () => {
  it('lists the certificate problems of every section at once and exits 1, warnings after them', async () => {
    const file = configWith(
      { 'expired.pem': expired.certPem, 'expired-key.pem': expired.keyPem, 'admin.pem': good.certPem, 'stranger-key.pem': stranger.keyPem, 'ca.pem': ca.certPem, 'client.pem': expiring.certPem, 'client-key.pem': expiring.keyPem },
      (config) => {
        config['listen']!['tls'] = { certFile: 'expired.pem', keyFile: 'expired-key.pem' };
        config['admin']!['tls'] = { certFile: 'admin.pem', keyFile: 'stranger-key.pem', caFile: 'ca.pem', clientAuth: 'require' };
        config['upstream']!['tls'] = { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'client-key.pem' };
      },
    );
    const run = await checkConfig(file);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toBe('');
    const keyPath = join(dirname(file), 'stranger-key.pem');
    expect(run.stderr).toBe(
      [
        `${file}: 2 problems:`,
        `  listen.tls.certFile: the certificate "CN=localhost" expired on ${new Date(Date.now() - DAY_MS).toISOString().slice(0, 10)}`,
        `  admin.tls.keyFile: the key in ${keyPath} does not belong to the certificate "CN=localhost" in certFile`,
        `${file}: 1 warning:`,
        `  upstream.tls.certFile: the certificate "CN=portcullis-client" expires on ${expiringOn.toISOString().slice(0, 10)}, in 5 days`,
        '',
      ].join('\n'),
    );
    expect(run.stderr).not.toMatch(/\bat \S+ \(/);
  });

  it('prints the summary with its TLS line and exits 0 when there are only warnings', async () => {
    const pems = { 'server.pem': good.certPem, 'server-key.pem': good.keyPem, 'ca.pem': ca.certPem, 'client.pem': expiring.certPem, 'client-key.pem': expiring.keyPem };
    const file = configWith(pems, (config) => {
      config['listen']!['tls'] = { certFile: 'server.pem', keyFile: 'server-key.pem', minVersion: 'TLSv1.3' };
      config['admin']!['tls'] = { certFile: 'server.pem', keyFile: 'server-key.pem', caFile: 'ca.pem', clientAuth: 'optional' };
      config['admin']!['certificateIdentities'] = [{ name: 'ops-admin', subject: 'CN=ops-admin, O=Operations', role: 'read' }];
      config['upstream']!['tls'] = { certFile: 'client.pem', keyFile: 'client-key.pem' };
    });
    const run = await checkConfig(file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${file}: OK`);
    expect(run.stdout).toMatch(/^ {2}tls {10}listen TLSv1\.3\+; admin TLSv1\.2\+, client certificates optional; upstream public CAs, client certificate$/m);
    expect(run.stdout).toMatch(/^ {2}admin {8}127\.0\.0\.1:0 \(admin: manage, ops-admin: read by certificate\)$/m);
    expect(run.stderr).toBe(`${file}: 1 warning:\n  upstream.tls.certFile: the certificate "CN=portcullis-client" expires on ${expiringOn.toISOString().slice(0, 10)}, in 5 days\n`);
  });
});
