// Keeps `npm run bench` runnable: one scenario for one second through a real proxy child, checking that the
// benchmark's credentials are accepted (a bench that measures 401s measures nothing) and that its JSON is written.
// Throughput is never asserted here; targets are checked by the benchmark's own output.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-smoke-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs the warm bearer scenario end to end and writes its results', async () => {
  const file = join(dir, 'result.json');
  const args = ['--import', 'tsx', 'bench/run.ts', '--scenario', 'bearer-warm', '--no-baseline', '--duration', '1', '--warmup', '0', '--connections', '4', '--no-pin', '--json', file];
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 60_000 }, (error, _stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve()));
  });
  const report = JSON.parse(readFileSync(file, 'utf8')) as { results: { scenario: string; requests: number; errors: number; cpuUsPerRequest: number | null }[] };
  expect(report.results).toHaveLength(1);
  const [row] = report.results;
  expect(row!.scenario).toBe('bearer-warm');
  expect(row!.requests).toBeGreaterThan(0);
  expect(row!.errors).toBe(0);
}, 90_000);
