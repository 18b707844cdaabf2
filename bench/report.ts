// What `npm run bench` prints at the end (the table, the targets and the notes that say how far to trust them)
// and the JSON file it writes beside it.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { formatTable, type ScenarioResult } from '../src/cli/loadtest.js';
import type { Measurer } from './measure.js';
import type { MemoryResult } from './memory.js';
import type { GroupResult } from './rounds.js';
import { computeTargets, formatTargets, met, workersNote, type Target } from './targets.js';

export interface ReportInput {
  rows: ScenarioResult[];
  results: ReadonlyMap<string, GroupResult>;
  memory: MemoryResult | null;
  measurer: Measurer;
  cores: number;
}

export interface Report {
  text: string;
  targets: Target[];
  notes: string[];
}

export function report(input: ReportInput): Report {
  const byName = new Map(input.rows.map((r) => [r.scenario, r]));
  const runs = new Map([...input.results].map(([name, r]) => [name, r.runs]));
  const targets = computeTargets({ rows: byName, runs, memory: input.memory });
  const notes: string[] = [];
  const baseline = byName.get('baseline');
  if (baseline?.cpuShare != null && baseline.cpuShare < 0.9 && (input.measurer.loadGeneratorShare['baseline'] ?? 0) > 0.9) {
    notes.push(
      `The proxy used ${(baseline.cpuShare * 100).toFixed(0)}% of its core in the baseline: the load generator's core was the limit, so req/s ratios understate the cost of authentication; compare CPU µs/req.`,
    );
  }
  const workers = workersNote(byName, input.cores);
  if (workers !== null) notes.push(workers);
  if (input.memory !== null) notes.push(`memory: ${input.memory.row.requests} distinct tokens went through in ${input.memory.seconds.toFixed(0)}s.`);
  const text = `\n${formatTable(input.rows)}\n\ntargets:\n${formatTargets(targets)}\n${notes.map((n) => `\n${n}`).join('')}${notes.length ? '\n' : ''}`;
  return { text, targets, notes };
}

export function writeJson(file: string, settings: Record<string, unknown>, output: Report, input: ReportInput): void {
  const rounds = Object.fromEntries([...input.results].map(([name, r]) => [name, { runs: r.runs, baselines: r.bases, haproxy: r.haproxy }]));
  const memory = input.memory;
  mkdirSync(dirname(file), { recursive: true });
  const body = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: input.cores,
    ...settings,
    results: input.rows,
    targets: output.targets.map((t) => ({ ...t, met: met(t) })),
    notes: output.notes,
    memory:
      memory === null
        ? null
        : { curve: memory.curve, retained: memory.retained, rssBeforeMiB: memory.rssBeforeMiB, rssPeakMiB: memory.rssPeakMiB, cacheBoundMiB: memory.cacheBoundMiB, seconds: memory.seconds },
    otherProcessesCoreShare: input.measurer.otherLoad,
    loadGeneratorCoreShare: input.measurer.loadGeneratorShare,
    rounds,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
}
