// Builds the configured store from the config's store section: the in-memory store, or Redis once it is
// connected and subscribed. The section arrives with the schema's defaults applied, so nothing is defaulted here.

import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import type { StoreConfig } from '../config/schema.js';
import { MemoryStore, type MemoryStoreOptions } from './memory.js';
import type { RedisStoreOptions } from './redis/client-options.js';
import { RedisStore } from './redis/redis-store.js';
import type { Store } from './store.js';

export type MemoryStoreSettings = Extract<StoreConfig, { type: 'memory' }>;
export type RedisStoreSettings = Extract<StoreConfig, { type: 'redis' }>;

/** The Redis passwords, which the config resolves from their `{ env }` / `{ file }` sources; null when unset. */
export type StoreSecrets = Pick<Config, 'redisPassword' | 'sentinelPassword'>;

/** The store the assembly runs on, as the loaded config describes it. */
export function storeFromConfig(config: Config, clock: Clock): Promise<Store> {
  return createStore(config.parsed.store, clock, config);
}

/**
 * Builds the store `settings` describe. A Redis store is only returned once it is connected and subscribed, so a
 * misconfigured or unreachable Redis fails startup with a StoreUnavailableError instead of the first request.
 */
export async function createStore(settings: StoreConfig, clock: Clock, secrets: StoreSecrets): Promise<Store> {
  switch (settings.type) {
    case 'memory':
      return new MemoryStore(memoryStoreOptions(settings), clock);
    case 'redis': {
      const store = new RedisStore(redisStoreOptions(settings, secrets), clock);
      try {
        await store.waitUntilReady();
      } catch (err) {
        await store.close();
        throw err;
      }
      return store;
    }
    default: {
      const unknown: never = settings;
      throw new Error(`Unknown store type: ${String((unknown as { type?: unknown }).type)}`);
    }
  }
}

export function memoryStoreOptions(settings: MemoryStoreSettings): MemoryStoreOptions {
  return {
    maxSessions: settings.maxSessions,
    maxFamilies: settings.maxFamilies,
    maxRefreshTokens: settings.maxRefreshTokens,
    maxRevocations: settings.maxRevocations,
    maxFailureKeys: settings.maxFailureKeys,
  };
}

/** The Redis store's options: connection fields as configured, passwords from `secrets`, TLS files read now. */
export function redisStoreOptions(settings: RedisStoreSettings, secrets: StoreSecrets): RedisStoreOptions {
  const tls =
    settings.tls === false || settings.tls === true
      ? settings.tls
      : {
          rejectUnauthorized: settings.tls.rejectUnauthorized,
          ...(settings.tls.caFile ? { ca: readText(settings.tls.caFile) } : {}),
          ...(settings.tls.certFile ? { cert: readText(settings.tls.certFile) } : {}),
          ...(settings.tls.keyFile ? { key: readText(settings.tls.keyFile) } : {}),
        };
  const { sentinel } = settings;
  return {
    ...(settings.url !== undefined ? { url: settings.url } : {}),
    ...(settings.host !== undefined ? { host: settings.host } : {}),
    ...(settings.port !== undefined ? { port: settings.port } : {}),
    ...(settings.db !== undefined ? { db: settings.db } : {}),
    ...(settings.username !== undefined ? { username: settings.username } : {}),
    ...(secrets.redisPassword !== null ? { password: secrets.redisPassword } : {}),
    tls,
    keyPrefix: settings.keyPrefix,
    ...(sentinel
      ? {
          sentinel: {
            name: sentinel.name,
            nodes: sentinel.nodes,
            ...(secrets.sentinelPassword !== null ? { password: secrets.sentinelPassword } : {}),
          },
        }
      : {}),
    ...(settings.cluster ? { cluster: settings.cluster } : {}),
    commandTimeoutMs: settings.commandTimeout,
    connectTimeoutMs: settings.connectTimeout,
  };
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
