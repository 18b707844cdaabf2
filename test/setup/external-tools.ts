// How the tests find the programs they start (redis-server, nginx, Chromium) and whether a missing one may be
// skipped: set CI, or PORTCULLIS_REQUIRE_<TOOL>=1, and "not installed" is a failure instead of a loud skip.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Whether a missing tool fails the run: in CI, or when PORTCULLIS_REQUIRE_<tool>=1 asks for it. */
export function toolRequired(tool: 'REDIS' | 'NGINX' | 'CHROMIUM'): boolean {
  const ci = process.env.CI;
  return (ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false') || process.env[`PORTCULLIS_REQUIRE_${tool}`] === '1';
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` in PATH, then in `extraDirs`; null when there is none. */
export function findOnPath(name: string, extraDirs: readonly string[] = []): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== ''), ...extraDirs];
  for (const dir of dirs) if (isExecutable(join(dir, name))) return join(dir, name);
  return null;
}
