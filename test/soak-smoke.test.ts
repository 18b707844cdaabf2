// Keeps `npm run soak` runnable: a quarter-minute soak after a five-second ramp, end to end (redis-server, the
// `portcullis` command with two workers, the faulty upstream), checking that its report is written whole, that
// nothing failed but the injected faults, and that each of those was answered 502 or 504. Latency, capacity and
// memory trends are never asserted here; a run this short does not judge the RSS slope.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { findRedisServerBinary, redisRequired } from './setup/global-redis.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-soak-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Tally {
  sent: number;
  expected: number;
  answered: Record<string, number>;
}

interface SoakReport {
  ramp: { steps: unknown[] };
  soak: { requests: number };
  windows: { requests: number; p50Ms: number | null; p99Ms: number | null; rssMiB: number | null; heapUsedMiB: number | null; processes: number | null; eventLoopP99Ms: number | null }[];
  slopes: { rssMiBPerMin: number | null; judged: boolean };
  errors: Record<string, number>;
  unexpectedErrors: number;
  faults: { slow: Tally; reset: Tally };
  revocations: { checks: number; refused: number; failures: string[] };
  lost: { count: number };
  failures: string[];
  passed: boolean;
}

const redisInstalled = findRedisServerBinary() !== null;
if (!redisInstalled && redisRequired()) throw new Error('redis-server is required for the soak smoke test but is not on PATH');
const soakIt = redisInstalled ? it : it.skip;

soakIt(`runs a quarter-minute soak end to end${redisInstalled ? '' : ' (SKIPPED: no redis-server on PATH)'}`, async () => {
  const file = join(dir, 'soak.json');
  const args = ['--import', 'tsx', 'bench/soak.ts', '--minutes', '0.25', '--ramp-seconds', '4', '--connections', '16', '--no-build', '--json', file];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 55_000 }, (error, out, stderr) => (error ? reject(new Error(`${error.message}\n${out}\n${stderr}`)) : resolve(out)));
  });
  const report = JSON.parse(readFileSync(file, 'utf8')) as SoakReport;
  expect(report.failures).toEqual([]);
  expect(report.passed).toBe(true);
  expect(stdout).toContain('PASSED');
  expect(report.unexpectedErrors).toBe(0);
  expect(report.errors).toEqual({});
  expect(report.lost.count).toBe(0);
  expect(report.ramp.steps.length).toBeGreaterThan(0);
  expect(report.soak.requests).toBeGreaterThan(0);
  expect(report.windows.length).toBeGreaterThanOrEqual(3);
  for (const row of report.windows) {
    expect(row.requests).toBeGreaterThan(0);
    expect(row.p99Ms).not.toBeNull();
    // The primary and its two workers, and with --no-build the transform service tsx may start beside them.
    expect(row.processes).toBeGreaterThanOrEqual(3);
    expect(row.rssMiB).toBeGreaterThan(0);
    expect(row.heapUsedMiB).toBeGreaterThan(0);
    expect(row.eventLoopP99Ms).not.toBeNull();
  }
  expect(report.slopes.judged).toBe(false);
  for (const tally of [report.faults.slow, report.faults.reset]) {
    expect(tally.sent).toBeGreaterThan(0);
    expect(tally.answered).toEqual({ [String(tally.expected)]: tally.sent });
  }
  expect([report.faults.slow.expected, report.faults.reset.expected]).toEqual([504, 502]);
  expect(report.revocations.failures).toEqual([]);
  expect(report.revocations.refused).toBe(report.revocations.checks);
  expect(report.revocations.checks).toBeGreaterThan(0);
}, 60_000);
