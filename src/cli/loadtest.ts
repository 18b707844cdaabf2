// `portcullis loadtest`: drives load at a deployment with real credentials, so an operator can see what token
// validation costs on their own hardware and network. Credentials come from the token endpoint, from tokens
// minted locally with the deployment's signing key, from an API key, or from a PCR-360 header login; a mix
// decides how many requests reuse a credential the proxy has already seen (warm) and how many bring one it has
// not (cold, which costs a signature check). The results table is the one `npm run bench` prints, and the helpers
// re-exported here (token minting, table, /proc readings) are what the benchmark uses too.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type autocannon from 'autocannon';
import { LOADTEST_OPTIONS, LOADTEST_USAGE, UsageError, positiveInt } from './loadtest/args.js';
import { planFor } from './loadtest/credentials.js';
import { CredentialPicker, drive, probe } from './loadtest/drive.js';
import { readProcess, watchRss } from './loadtest/process-readings.js';
import { formatTable, scenarioResult, type ScenarioResult } from './loadtest/report.js';

export { LOADTEST_USAGE, parseMix, type Mix } from './loadtest/args.js';
export { CredentialPicker, drive, type DriveOptions } from './loadtest/drive.js';
export { algorithmOf, decodeClaims, mintAccessTokens, type MintSettings, type TokenAlgorithm } from './loadtest/mint.js';
export { clockTicks, readProcess, watchRss, type ProcessReading } from './loadtest/process-readings.js';
export { formatTable, scenarioResult, type ScenarioResult } from './loadtest/report.js';

export async function runLoadtest(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options: LOADTEST_OPTIONS, allowPositionals: false }).values;
  } catch (error) {
    console.error(`portcullis loadtest: ${(error as Error).message}\n\n${LOADTEST_USAGE}`);
    return 2;
  }
  if (values['help'] === true) {
    console.log(LOADTEST_USAGE);
    return 0;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const connections = positiveInt('connections', values['connections'] as string | undefined, 64);
    const duration = positiveInt('duration', values['duration'] as string | undefined, 10);
    const pidText = values['pid'] as string | undefined;
    const pid = pidText === undefined ? null : positiveInt('pid', pidText, 0);
    const plan = await planFor(values, connections, log);
    const progress = values['no-progress'] !== true && process.stderr.isTTY === true;
    const rows: ScenarioResult[] = [];

    const measure = async (label: string, run: () => Promise<autocannon.Result>, note?: string) => {
      log(`${label}: ${duration}s, ${connections} connections`);
      const before = pid === null ? null : readProcess(pid);
      const rss = watchRss(pid);
      const result = await run();
      const row = scenarioResult(label, result, { before, after: pid === null ? null : readProcess(pid), peakRss: rss.stop() });
      if (note) row.note = note;
      rows.push(row);
      return row;
    };

    const baselineUrl = values['baseline-url'] as string | undefined;
    let baseline: ScenarioResult | null = null;
    if (baselineUrl !== undefined) {
      baseline = await measure('baseline', () => drive({ url: new URL(baselineUrl).toString(), method: plan.method, connections, durationSeconds: duration, progress }));
    }
    await probe(plan);
    const picker = plan.header === null ? null : new CredentialPicker(plan.mix, plan.warm, plan.cold);
    // The warm pool is shown to the proxy once before measuring, so "warm" means what it says from the start.
    if (picker !== null && plan.warm.length > 0) {
      await Promise.all(plan.warm.map((value) => fetch(plan.url, { method: plan.method, headers: { [plan.header!]: value } }).then((r) => r.arrayBuffer()).catch(() => null)));
    }
    const row = await measure(plan.label, () =>
      drive({ url: plan.url, method: plan.method, connections, durationSeconds: duration, progress, credential: picker ? { header: plan.header!, picker } : undefined }),
    );
    if (picker?.exhausted) row.note = `the ${plan.cold.length} cold credentials ran out after ${row.seconds.toFixed(1)}s; the run stopped there (raise --tokens)`;
    if (baseline) row.ratio = row.rps / baseline.rps;
    if (baseline) baseline.ratio = 1;

    process.stdout.write(`\n${formatTable(rows)}\n`);
    if (rows.some((r) => r.errors > 0)) {
      process.stdout.write('\nSome requests failed or were refused: check the credentials and the proxy log before reading the numbers.\n');
    }
    const jsonFile = values['json'] as string | undefined;
    if (jsonFile !== undefined) {
      writeFileSync(jsonFile, `${JSON.stringify({ url: plan.displayUrl, connections, duration, mix: plan.mix, results: rows }, null, 2)}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`portcullis loadtest: ${error.message}\n\n${LOADTEST_USAGE}`);
      return 2;
    }
    console.error(`portcullis loadtest: ${(error as Error).message}`);
    return 1;
  }
}
