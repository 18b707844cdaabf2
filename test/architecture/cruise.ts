// Runs dependency-cruiser with the rules of .dependency-cruiser.cjs over the src/ folder of a tree (the repository,
// or a fixture laid out like it) and words each broken rule as one line a reader can act on.

import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RULES_FILE = fileURLToPath(new URL('../../.dependency-cruiser.cjs', import.meta.url));
const TS_CONFIG_FILE = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/** The dependency graph of `<root>/src`, every path in it relative to `root`, with the rules already checked. */
export async function cruiseSources(root: string): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(RULES_FILE);
  const { output } = await cruise(
    ['src'],
    // The rules name paths from the root (`^src/...`), so the tree's root is where paths start, wherever the
    // test runs from.
    { ...options, baseDir: root, tsConfig: { fileName: TS_CONFIG_FILE } },
    {},
    { tsConfig: extractTSConfig(TS_CONFIG_FILE) },
  );
  if (typeof output === 'string') throw new Error(`dependency-cruiser answered text instead of a result: ${output.slice(0, 200)}`);
  return output;
}

/** One line per offending import, `from -> to: rule`, with the files of the loop for a cycle; sorted. */
export function ruleViolations(result: ICruiseResult): string[] {
  return result.summary.violations.map(describeViolation).sort();
}

function describeViolation(violation: IViolation): string {
  const line = `${violation.from} -> ${violation.to}: ${violation.rule.name}`;
  if (violation.cycle === undefined) return line;
  return `${line} (${[violation.from, ...violation.cycle.map((step) => step.name)].join(' -> ')})`;
}
