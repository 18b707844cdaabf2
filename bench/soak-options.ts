// The command line of `npm run soak`.

import { readCommandLine } from './command-line.js';

export const SOAK_USAGE = `Usage: npm run soak -- [--minutes N] [--ramp-seconds S] [--connections N] [--p99-ms MS] [--no-build] [--json FILE]`;

export interface SoakOptions {
  minutes: number;
  rampSeconds: number;
  connections: number;
  /** The p99 a ramp step must stay under to count as sustainable. */
  p99Ms: number;
  build: boolean;
  json: string | null;
}

export function parseSoakOptions(args: string[]): SoakOptions {
  const { values, positive: num } = readCommandLine('soak', SOAK_USAGE, args, {
    minutes: { type: 'string', default: '30' },
    'ramp-seconds': { type: 'string', default: '48' },
    connections: { type: 'string', default: '64' },
    'p99-ms': { type: 'string', default: '50' },
    'no-build': { type: 'boolean', default: false },
    json: { type: 'string' },
  } as const);
  return {
    minutes: num('minutes', values.minutes),
    rampSeconds: num('ramp-seconds', values['ramp-seconds']),
    connections: Math.max(1, Math.round(num('connections', values.connections))),
    p99Ms: num('p99-ms', values['p99-ms']),
    build: !values['no-build'],
    json: values.json ?? null,
  };
}
