// The import rules of src/ (.dependency-cruiser.cjs, also run by `npm run arch`) and the folder cycles they cannot
// express, checked on the real tree with type-only imports counted. A failure lists every offending import.

import type { ICruiseResult } from 'dependency-cruiser';
import { beforeAll, describe, expect, it } from 'vitest';
import { cruiseSources, REPO_ROOT, ruleViolations } from './architecture/cruise.js';
import { describeFolderCycle, folderCycles, folderGraph } from './architecture/folder-cycles.js';

describe('the architecture of src/', () => {
  let result: ICruiseResult;

  beforeAll(async () => {
    result = await cruiseSources(REPO_ROOT);
  }, 60_000);

  it('keeps the rules of .dependency-cruiser.cjs', () => {
    const violations = ruleViolations(result);
    expect(violations, `offending imports:\n${violations.join('\n')}`).toEqual([]);
  });

  it('has no cycles between folders', () => {
    const graph = folderGraph(result);
    const cycles = folderCycles(graph).map((cycle) => describeFolderCycle(cycle, graph));
    expect(cycles, `folder cycles:\n${cycles.join('\n')}`).toEqual([]);
  });
});
