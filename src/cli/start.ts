// `portcullis [start]`: load the config (with command-line overrides), start the proxy, print where it listens,
// and shut down gracefully on SIGTERM / SIGINT. With `workers` above 1 this process becomes the cluster primary
// (cluster.ts) and each worker runs this same command as a plain proxy.

import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ConfigError, type Config, type ConfigOverrides } from '../config/load.js';
import { loadConfigFile } from '../config-loader.js';
import { createLogger, type Logger } from '../log/logger.js';
import { serveClusterMetrics } from '../observability/cluster-metrics.js';
import { Metrics } from '../observability/metrics.js';
import { Portcullis } from '../portcullis.js';
import { KeyRingError } from '../tokens/keyring.js';
import { demoCredentialLines } from '../demo/credentials.js';
import { watchConfig } from './reload.js';
import { announceListening, memoryStoreRefusal, runPrimary, workerCount, workerId, workerOverrides, type ListeningInfo } from './cluster.js';

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

async function printBanner(config: Config, info: ListeningInfo, workers: number): Promise<void> {
  const banner = [
    `Portcullis listening on ${info.url}${workers > 1 ? ` (${workers} workers)` : ''}`,
    `  upstream: ${info.demo ? `built-in demo ITSM backend (${info.demo})` : config.parsed.upstream.url}`,
  ];
  if (info.demo) {
    const lines = await demoCredentialLines(config);
    if (lines.length > 0) banner.push('  demo credentials (see README):', ...lines.map((l) => `    ${l}`));
  }
  process.stderr.write(`${banner.join('\n')}\n`);
}

function flushed(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function runStart(args: string[]): Promise<number> {
  const code = await serve(args);
  // A worker's channel to the primary would keep it alive; the primary learns the outcome from the exit code.
  if (workerId() !== null) process.exit(code);
  return code;
}

async function serve(args: string[]): Promise<number> {
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
    // A file named on the command line is where the shell is, not beside the config file.
    if (values.store !== undefined) overrides.store = values.store.startsWith('sqlite:') ? `sqlite:${resolve(values.store.slice('sqlite:'.length))}` : values.store;
    const port = portValue('port', values.port);
    if (port !== undefined) overrides.port = port;
    const adminPort = portValue('admin-port', values['admin-port']);
    if (adminPort !== undefined) overrides.adminPort = adminPort;
    // Kept in the overrides so that reloads, which read the file again, keep the primary's key too.
    Object.assign(overrides, workerOverrides());
    const config = await loadConfigFile(file, overrides);
    logger = createLogger({ level: (process.env['PORTCULLIS_LOG_LEVEL'] as typeof config.parsed.log.level | undefined) ?? config.parsed.log.level });
    const worker = workerId();
    if (worker !== null) logger = logger.child({ worker });
    shutdownTimeout = config.parsed.listen.shutdownTimeout;
    const workers = workerCount(config.parsed.workers);
    if (worker === null && workers > 1) {
      if (config.parsed.store.type === 'memory') {
        console.error(memoryStoreRefusal(workers));
        return 1;
      }
      serveClusterMetrics();
      return await runPrimary({ config, count: workers, logger, shutdownTimeoutMs: shutdownTimeout, banner: (info) => printBanner(config, info, workers) });
    }
    proxy = await Portcullis.start({ config, logger, hooks: new Metrics().hooks() });
    stopWatching = watchConfig(proxy, file, overrides);
    const info: ListeningInfo = { url: proxy.url, admin: proxy.adminUrl, demo: proxy.demoBackendUrl };
    if (worker !== null) announceListening(info);
    else await printBanner(config, info, 1);
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
  const inWorker = workerId() !== null;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      stopWatching();
      void proxy.close(shutdownTimeout).then(resolve);
    };
    // A worker gets Ctrl-C twice, from the terminal and forwarded by the primary: the second must not kill it
    // mid-drain. A single process keeps the usual second-Ctrl-C-kills behaviour.
    const listen = inWorker ? process.on.bind(process) : process.once.bind(process);
    listen('SIGTERM', () => stop('SIGTERM'));
    listen('SIGINT', () => stop('SIGINT'));
  });
  if (inWorker) await flushed(logger);
  else logger.flush();
  return 0;
}
