// Each architecture rule reports what it is meant to: test/fixtures/architecture breaks every rule once, next to
// imports the rules allow, and the check must name exactly the broken ones.

import { fileURLToPath } from 'node:url';
import type { ICruiseResult } from 'dependency-cruiser';
import { beforeAll, describe, expect, it } from 'vitest';
import { cruiseSources, ruleViolations } from './cruise.js';
import { describeFolderCycle, folderCycles, folderGraph, folderOf } from './folder-cycles.js';

const FIXTURE_ROOT = fileURLToPath(new URL('../fixtures/architecture', import.meta.url));

describe('the architecture rules on a tree that breaks each of them', () => {
  let result: ICruiseResult;

  beforeAll(async () => {
    result = await cruiseSources(FIXTURE_ROOT);
  }, 60_000);

  it('report every broken rule and nothing the rules allow', () => {
    expect(ruleViolations(result)).toEqual([
      'src/cycle/first.ts -> src/cycle/second.ts: no-circular (src/cycle/first.ts -> src/cycle/second.ts -> src/cycle/first.ts)',
      'src/demo/uses-tests.ts -> bench/run.ts: src-imports-no-test-or-bench',
      'src/demo/uses-tests.ts -> test/helper.ts: src-imports-no-test-or-bench',
      'src/faces/oauth/token.ts -> src/faces/pcr/login.ts: face-imports-no-other-face',
      'src/faces/oauth/token.ts -> src/forward/send.ts: face-imports-no-listener-forward-or-pipeline',
      'src/faces/oauth/token.ts -> src/pipeline/handle.ts: face-imports-no-listener-forward-or-pipeline',
      'src/faces/oauth/token.ts -> src/route/router.ts: face-imports-stage-contracts-only',
      'src/listener/accept.ts -> src/faces/pcr/login.ts: stage-imports-no-face',
      'src/store/memory.ts -> src/faces/registry.ts: store-imports-no-stage-or-face',
      'src/store/memory.ts -> src/session/liveness.ts: store-imports-no-stage-or-face',
    ]);
  });

  it('report a cycle between folders that no single file closes, with one import per edge', () => {
    const graph = folderGraph(result);
    expect(folderCycles(graph).map((cycle) => describeFolderCycle(cycle, graph))).toEqual([
      ['src/config -> src/log -> src/config', '  src/config -> src/log: src/config/settings.ts -> src/log/levels.ts', '  src/log -> src/config: src/log/logger.ts -> src/config/defaults.ts'].join('\n'),
    ]);
  });
});

describe('folderOf', () => {
  it('groups files by their first folder under src/, each face on its own', () => {
    expect(folderOf('src/route/router.ts')).toBe('src/route');
    expect(folderOf('src/store/redis/scripts.ts')).toBe('src/store');
    expect(folderOf('src/faces/pcr/login.ts')).toBe('src/faces/pcr');
    expect(folderOf('src/faces/oauth/grants/password.ts')).toBe('src/faces/oauth');
    expect(folderOf('src/faces/registry.ts')).toBe('src/faces');
    expect(folderOf('src/portcullis.ts')).toBe('src/portcullis.ts');
    expect(folderOf('test/helper.ts')).toBeNull();
    expect(folderOf('node_modules/jose/dist/webapi/index.js')).toBeNull();
  });
});
