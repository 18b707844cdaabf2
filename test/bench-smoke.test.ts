// Keeps `npm run bench` runnable: one scenario for one second through a real proxy child, checking that the
// benchmark's credentials are accepted (a bench that measures 401s measures nothing) and that its JSON is written;
// and the haproxy-jwt comparator, measured where haproxy is installed and reported as skipped where it is not.
// Throughput is never asserted here; targets are checked by the benchmark's own output.

import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-smoke-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row {
  scenario: string;
  requests: number;
  errors: number;
  cpuUsPerRequest: number | null;
  haproxyRatio?: number | null;
  note?: string;
}

function bench(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; report: { results: Row[]; haproxy: { version?: string; skipped?: string } } }> {
  const file = join(dir, `result-${Math.random().toString(36).slice(2)}.json`);
  const all = ['--import', 'tsx', 'bench/run.ts', ...args, '--duration', '1', '--warmup', '0', '--connections', '4', '--no-pin', '--json', file];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, all, { timeout: 60_000, env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve({ stdout, report: JSON.parse(readFileSync(file, 'utf8')) });
    });
  });
}

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const pathDirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
const haproxyInstalled = pathDirs.some((d) => executable(join(d, 'haproxy')));

it('runs the warm bearer scenario end to end and writes its results', async () => {
  const { report } = await bench(['--scenario', 'bearer-warm', '--no-baseline', '--no-haproxy']);
  expect(report.results).toHaveLength(1);
  const [row] = report.results;
  expect(row!.scenario).toBe('bearer-warm');
  expect(row!.requests).toBeGreaterThan(0);
  expect(row!.errors).toBe(0);
}, 90_000);

it(`measures the haproxy-jwt comparator where haproxy is installed, and says it is skipped where not (here: ${haproxyInstalled ? 'installed' : 'not installed'})`, async () => {
  const { stdout, report } = await bench(['--scenario', 'haproxy-jwt', '--no-baseline', '--no-build']);
  const row = report.results.find((r) => r.scenario === 'haproxy-jwt');
  expect(row).toBeDefined();
  if (haproxyInstalled) {
    // The bench checked before measuring that haproxy accepts the token and refuses a tampered one.
    expect(row!.requests).toBeGreaterThan(0);
    expect(row!.errors).toBe(0);
    expect(row!.haproxyRatio).toBe(1);
    expect(report.haproxy.version).toMatch(/^\d+\.\d+/);
    expect(stdout).toContain('× haproxy-jwt');
    expect(stdout).toMatch(/^haproxy-jwt\s+\d+/m);
  } else {
    expect(row!.requests).toBe(0);
    expect(row!.note).toContain('skipped: no haproxy');
    expect(stdout).toContain('skipped: no haproxy');
  }
}, 90_000);

it('reports the haproxy-jwt comparator as skipped when haproxy is not on PATH', async () => {
  const PATH = pathDirs.filter((d) => !executable(join(d, 'haproxy'))).join(delimiter);
  const { stdout, report } = await bench(['--scenario', 'haproxy-jwt', '--no-baseline', '--no-build'], { ...process.env, PATH });
  const row = report.results.find((r) => r.scenario === 'haproxy-jwt');
  expect(row?.requests).toBe(0);
  expect(row?.note).toContain('skipped: no haproxy');
  expect(stdout).toMatch(/^ {2}haproxy-jwt: skipped: no haproxy/m);
  expect(report.haproxy.skipped).toContain('no haproxy');
}, 90_000);
