// Builds the configured store from the config's store section: the in-memory store, the SQLite file once it is
// open and migrated, or Redis once it is connected and subscribed, and says how far the process may trust its
// local view of a session on that store. The section arrives with the schema's defaults applied, so nothing is
// defaulted here.

import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import type { StoreConfig } from '../config/schema.js';
import { MemoryStore, type MemoryStoreOptions } from './memory.js';
import type { RedisStoreOptions } from './redis/client-options.js';
import { RedisStore } from './redis/redis-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export type MemoryStoreSettings = Extract<StoreConfig, { type: 'memory' }>;
export type RedisStoreSettings = Extract<StoreConfig, { type: 'redis' }>;
export type SqliteStoreSettings = Extract<StoreConfig, { type: 'sqlite' }>;

/** The Redis passwords, which the config resolves from their `{ env }` / `{ file }` sources; null when unset. */
export type StoreSecrets = Pick<Config, 'redisPassword' | 'sentinelPassword'>;

/** The store the assembly runs on, as the loaded config describes it. */
export function storeFromConfig(config: Config, clock: Clock): Promise<Store> {
  return createStore(config.parsed.store, clock, config);
}

/**
 * Builds the store `settings` describe. A Redis store is only returned once it is connected and subscribed, and
 * a SQLite store once its file is open and migrated, so a misconfigured or unreachable Redis, or a bad or corrupt
 * file, fails startup with a StoreUnavailableError instead of the first request.
 */
export async function createStore(settings: StoreConfig, clock: Clock, secrets: StoreSecrets): Promise<Store> {
  switch (settings.type) {
    case 'memory':
      return new MemoryStore(memoryStoreOptions(settings), clock);
    case 'sqlite':
      return new SqliteStore(sqliteStoreOptions(settings));
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

export function sqliteStoreOptions(settings: SqliteStoreSettings): SqliteStoreOptions {
  return { path: settings.path };
}

/**
 * How long the local view of a PCR session is trusted on the memory and SQLite stores. Every change to a session
 * there goes through this process and reaches the view at once (logout and admin deletes as revocation events),
 * so the view only has to notice a session the memory store evicted when full.
 */
const SINGLE_PROCESS_SESSION_VIEW_MS = 1000;

/** How the process's local session view works on this store: how long it is trusted, how often activity is written. */
export function sessionViewTiming(settings: StoreConfig): { localTtlMs: number; writeIntervalMs: number } {
  switch (settings.type) {
    case 'memory':
      // Writing activity costs a map update, so every use is written and the store is exact.
      return { localTtlMs: SINGLE_PROCESS_SESSION_VIEW_MS, writeIntervalMs: 0 };
    case 'sqlite':
      // A write is a disk transaction: coalesced as on Redis, so a warm request does no synchronous write.
      return { localTtlMs: SINGLE_PROCESS_SESSION_VIEW_MS, writeIntervalMs: settings.activityWriteInterval };
    case 'redis':
      return { localTtlMs: settings.sessionCacheTtl, writeIntervalMs: settings.activityWriteInterval };
  }
}

/** How long a revocation waits for its replicas unless configured (or half the command timeout, if shorter). */
const REPLICATION_WAIT_MS = 250;

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
    replicationWait: {
      replicas: settings.replicationWait.replicas ?? (sentinel ? 1 : 0),
      timeoutMs: settings.replicationWait.timeout ?? Math.min(REPLICATION_WAIT_MS, Math.floor(settings.commandTimeout / 2)),
    },
  };
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
