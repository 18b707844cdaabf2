// The command line of `npm run bench`.

import type { TokenAlgorithm } from '../src/cli/loadtest.js';
import { readCommandLine } from './command-line.js';
import { HAPROXY_JWT } from './haproxy.js';
import { SCENARIOS, type Scenario } from './scenarios.js';

export const USAGE = `Usage: npm run bench -- [--duration S] [--connections N] [--scenario a,b] [--no-pin] [--no-baseline] [--no-haproxy] [--no-build]
                      [--engine http-proxy|undici] [--alg RS256|ES256|EdDSA] [--warmup S] [--repeat N] [--request-log on|off]
                      [--profile] [--cold-tokens N] [--memory-tokens N] [--json FILE]
Scenarios: ${[...SCENARIOS.map((s) => s.name), HAPROXY_JWT].join(', ')}
(baseline runs first unless --no-baseline; the ${HAPROXY_JWT} comparator runs beside every pinned scenario unless --no-haproxy)`;

export interface BenchOptions {
  duration: number;
  connections: number;
  warmup: number;
  repeat: number;
  coldTokens: number;
  memoryTokens: number;
  alg: TokenAlgorithm;
  engine: string | null;
  requestLog: boolean;
  pin: boolean;
  build: boolean;
  profile: boolean;
  /** Whether the haproxy-jwt comparator is measured (it is skipped with a note when haproxy is not installed). */
  haproxy: boolean;
  /** Whether haproxy-jwt was asked for by name (or by running everything): then it runs even with nothing to pair. */
  haproxyNamed: boolean;
  json: string | null;
  /** The Portcullis scenarios to run, in table order. */
  scenarios: Scenario[];
}

export function parseOptions(args: string[]): BenchOptions {
  const { values, fail, positive: num } = readCommandLine('bench', USAGE, args, {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    scenario: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'no-baseline': { type: 'boolean', default: false },
    'no-haproxy': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    engine: { type: 'string' },
    alg: { type: 'string', default: 'RS256' },
    warmup: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '1' },
    'request-log': { type: 'string', default: 'on' },
    profile: { type: 'boolean', default: false },
    'cold-tokens': { type: 'string', default: '150000' },
    'memory-tokens': { type: 'string', default: '1000000' },
    json: { type: 'string' },
  } as const);
  const alg = values.alg as TokenAlgorithm;
  if (!['RS256', 'ES256', 'EdDSA'].includes(alg)) fail('--alg: expected RS256, ES256 or EdDSA');
  if (values.engine !== undefined && !['http-proxy', 'undici'].includes(values.engine)) fail('--engine: expected http-proxy or undici');
  if (!['on', 'off'].includes(values['request-log'])) fail('--request-log: expected on or off');
  const known = [...SCENARIOS.map((s) => s.name), HAPROXY_JWT];
  const wanted = values.scenario === undefined ? known : values.scenario.split(',').map((s) => s.trim());
  for (const name of wanted) if (!known.includes(name)) fail(`--scenario: unknown scenario "${name}"`);
  return {
    duration: num('duration', values.duration),
    connections: Math.round(num('connections', values.connections)),
    warmup: values.warmup === '0' ? 0 : num('warmup', values.warmup),
    repeat: Math.round(num('repeat', values.repeat)),
    coldTokens: Math.round(num('cold-tokens', values['cold-tokens'])),
    memoryTokens: Math.round(num('memory-tokens', values['memory-tokens'])),
    alg,
    engine: values.engine ?? null,
    requestLog: values['request-log'] === 'on',
    pin: !values['no-pin'],
    build: !values['no-build'],
    profile: values.profile,
    haproxy: !values['no-haproxy'],
    haproxyNamed: wanted.includes(HAPROXY_JWT),
    json: values.json ?? null,
    scenarios: SCENARIOS.filter((s) => (s.name === 'baseline' && !values['no-baseline']) || wanted.includes(s.name)),
  };
}
