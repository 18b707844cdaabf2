// Builds the configured store: the in-memory default or Redis with the options the config resolved.

import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import { createStore } from './index.js';
import type { Store } from './store.js';

export function storeFromConfig(config: Config, clock: Clock): Promise<Store> {
  const store = config.parsed.store;
  if (store.type === 'memory') {
    return createStore({ type: 'memory', memory: { maxSessions: store.maxSessions, maxFamilies: store.maxFamilies } }, clock);
  }
  const tls =
    store.tls === false || store.tls === true
      ? store.tls
      : {
          rejectUnauthorized: store.tls.rejectUnauthorized,
          ...(store.tls.caFile ? { ca: readText(store.tls.caFile) } : {}),
          ...(store.tls.certFile ? { cert: readText(store.tls.certFile) } : {}),
          ...(store.tls.keyFile ? { key: readText(store.tls.keyFile) } : {}),
        };
  return createStore(
    {
      type: 'redis',
      redis: {
        ...(store.url !== undefined ? { url: store.url } : {}),
        ...(store.host !== undefined ? { host: store.host } : {}),
        ...(store.port !== undefined ? { port: store.port } : {}),
        ...(store.db !== undefined ? { db: store.db } : {}),
        ...(store.username !== undefined ? { username: store.username } : {}),
        ...(config.redisPassword !== null ? { password: config.redisPassword } : {}),
        tls,
        keyPrefix: store.keyPrefix,
        ...(store.sentinel
          ? { sentinel: { name: store.sentinel.name, nodes: store.sentinel.nodes, ...(config.sentinelPassword !== null ? { password: config.sentinelPassword } : {}) } }
          : {}),
        ...(store.cluster ? { cluster: store.cluster } : {}),
        commandTimeoutMs: store.commandTimeout,
        connectTimeoutMs: store.connectTimeout,
      },
    },
    clock,
  );
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
