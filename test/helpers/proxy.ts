// Starts the real proxy on port 0 in front of a recording echo upstream, with a frozen clock and a fixed
// signing key, from a config object close to config/example.yaml. Each test file gets its own pair.

import { Writable } from 'node:stream';
import { ManualClock } from '../../src/clock.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { Portcullis, type PortcullisHooks } from '../../src/portcullis.js';
import type { Store } from '../../src/store/store.js';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream.js';
import { baseConfig, FROZEN_EPOCH, loadTestConfig, type ConfigEdit } from './fixtures.js';

// Suites that start a proxy nearly always need its fixtures and an OAuth login as well; one import serves them.
export { baseConfig, FROZEN_EPOCH, loadTestConfig, PCR_ENV, pcrSection, SIGNING_KEY_PEM, withPcr } from './fixtures.js';
export { basicAuth, login, tokenRequest, type TokenAnswer } from './oauth.js';

export interface TestProxy {
  proxy: Portcullis;
  upstream: EchoUpstream;
  clock: ManualClock;
  url: string;
  port: number;
  /** Everything the proxy logged, one JSON object per line. */
  logLines: string[];
  close(): Promise<void>;
}

export interface TestProxyOptions {
  /** Changes baseConfig() before it is validated. */
  edit?: ConfigEdit;
  /** Defaults to a ManualClock frozen at FROZEN_EPOCH. */
  clock?: ManualClock;
  store?: Store;
  /** Values for the config's { env } sources. */
  env?: NodeJS.ProcessEnv;
  /** An upstream to share; without one the proxy gets its own, closed with it. */
  upstream?: EchoUpstream;
  hooks?: PortcullisHooks;
}

export function captureLogger(lines: string[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line);
      callback();
    },
  });
  return createLogger({ level: 'info', destination: sink });
}

export async function startTestProxy(options: TestProxyOptions = {}): Promise<TestProxy> {
  const upstream = options.upstream ?? (await startEchoUpstream());
  const raw = baseConfig(upstream.url);
  options.edit?.(raw);
  const config = await loadTestConfig(raw, options.env);
  const clock = options.clock ?? new ManualClock(FROZEN_EPOCH);
  const logLines: string[] = [];
  const proxy = await Portcullis.start({ config, clock, logger: captureLogger(logLines), ...(options.store ? { store: options.store } : {}), ...(options.hooks ? { hooks: options.hooks } : {}) });
  return {
    proxy,
    upstream,
    clock,
    url: proxy.url,
    port: proxy.port,
    logLines,
    async close() {
      await proxy.close(1000);
      if (!options.upstream) await upstream.close();
    },
  };
}
