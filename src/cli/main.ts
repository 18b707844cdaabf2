// The `portcullis` command: run the proxy, check a config, and the small tools operators need to write one
// (the config's JSON Schema, secret hashes, API keys, signing keys).

import { parseArgs } from 'node:util';
import { runStart } from './start.js';
import { runCheckConfig } from './check-config.js';
import { runSchema } from './schema.js';
import { runHashSecret, runGenerateKey, runGenerateSigningKey } from './secrets.js';

const USAGE = `Usage: portcullis [start] --config FILE [--upstream URL] [--port N] [--host H] [--store memory|sqlite:FILE|redis://...] [--admin-port N]
       portcullis check-config FILE
       portcullis schema [--out FILE]    (the config file's JSON Schema, for editors)
       portcullis hash-secret            (reads the secret from stdin, or asks for it)
       portcullis generate-key           (prints a new API key and the hash for the config)
       portcullis generate-signing-key [--alg RS256|ES256|EdDSA] [--kid ID]
       portcullis loadtest --url URL [credentials] [--mix warm:80,cold:20] [--duration S] [--connections N]
                                         (load-tests a deployment; "portcullis loadtest --help" for credentials)

Environment: PORTCULLIS_CONFIG (config file when --config is not given), PORTCULLIS_LOG_LEVEL.`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ['start', runStart],
  ['check-config', runCheckConfig],
  ['schema', runSchema],
  ['hash-secret', runHashSecret],
  ['generate-key', runGenerateKey],
  ['generate-signing-key', runGenerateSigningKey],
  // Loaded on demand: the load generator is of no use to a running proxy.
  ['loadtest', async (args) => (await import('./loadtest.js')).runLoadtest(args)],
]);

export async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log(USAGE);
    return;
  }
  const command = first !== undefined && COMMANDS.has(first) ? COMMANDS.get(first)! : runStart;
  const args = first !== undefined && COMMANDS.has(first) ? rest : argv;
  try {
    process.exitCode = await command(args);
  } catch (error) {
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`portcullis: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

export { parseArgs, USAGE };
