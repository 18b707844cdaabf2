// `portcullis [start]`: load the config (with command-line overrides), start the proxy, print where it listens,
// and shut down gracefully on SIGTERM / SIGINT.

import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, type ConfigOverrides } from '../config/load.js';
import { createLogger } from '../log/logger.js';
import { Portcullis } from '../server.js';
import { KeyRingError } from '../tokens/keyring.js';
import { demoCredentialLines } from '../demo/credentials.js';
import { watchConfig } from './reload.js';

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  upstream: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  store: { type: 'string' },
  'admin-port': { type: 'string' },
} as const;

function portValue(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new ConfigError(`--${name}`, [`--${name}: expected a port number from 0 to 65535`]);
  return Number(text);
}

export async function runStart(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS, allowPositionals: false });
  const file = values.config ?? process.env['PORTCULLIS_CONFIG'];
  if (file === undefined) {
    console.error('portcullis: no config file: pass --config FILE (or set PORTCULLIS_CONFIG). config/example.yaml is a complete example.');
    return 2;
  }
  let logger = createLogger();
  let proxy: Portcullis;
  let stopWatching = () => {};
  let overrides: ConfigOverrides = {};
  let shutdownTimeout = 10_000;
  try {
    overrides = {};
    if (values.upstream !== undefined) overrides.upstream = values.upstream;
    if (values.host !== undefined) overrides.host = values.host;
    if (values.store !== undefined) overrides.store = values.store;
    const port = portValue('port', values.port);
    if (port !== undefined) overrides.port = port;
    const adminPort = portValue('admin-port', values['admin-port']);
    if (adminPort !== undefined) overrides.adminPort = adminPort;
    const config = await loadConfigFile(file, overrides);
    logger = createLogger({ level: (process.env['PORTCULLIS_LOG_LEVEL'] as typeof config.parsed.log.level | undefined) ?? config.parsed.log.level });
    shutdownTimeout = config.parsed.listen.shutdownTimeout;
    proxy = await Portcullis.start({ config, logger });
    stopWatching = watchConfig(proxy, file, overrides);
    const banner = [`Portcullis listening on ${proxy.url}`, `  upstream: ${proxy.demoBackendUrl ? `built-in demo ITSM backend (${proxy.demoBackendUrl})` : config.parsed.upstream.url}`];
    if (proxy.demoBackendUrl) {
      const lines = await demoCredentialLines(config);
      if (lines.length > 0) banner.push('  demo credentials (see README):', ...lines.map((l) => `    ${l}`));
    }
    process.stderr.write(`${banner.join('\n')}\n`);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    if (error instanceof KeyRingError) {
      console.error(`${file}: tokens.signingKeys: ${error.message}`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      console.error(`portcullis: cannot listen: ${(error as Error).message}`);
      return 1;
    }
    console.error(`portcullis: failed to start: ${(error as Error).message}`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      stopWatching();
      void proxy.close(shutdownTimeout).then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  logger.flush();
  return 0;
}
