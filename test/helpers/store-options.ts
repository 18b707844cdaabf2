// Store settings and options for tests that build a store themselves. They come from the config schema's store
// section, so a test's store has the defaults a configured proxy would have and overrides only what it is about.

import type { z } from 'zod';
import { storeSchema } from '../../src/config/schema.js';
import {
  memoryStoreOptions as memoryOptionsFrom,
  redisStoreOptions as redisOptionsFrom,
  type MemoryStoreSettings,
  type RedisStoreSettings,
  type SqliteStoreSettings,
  type StoreSecrets,
} from '../../src/store/factory.js';
import type { MemoryStoreOptions } from '../../src/store/memory.js';
import type { RedisStoreOptions } from '../../src/store/redis/client-options.js';

type StoreInput = z.input<typeof storeSchema>;
/** What a config file may say about the memory store, as written there (durations as text). */
export type MemoryStoreInput = Omit<Extract<StoreInput, { type: 'memory' }>, 'type'>;
/** What a config file may say about the Redis store, as written there (durations as text). */
export type RedisStoreInput = Omit<Extract<StoreInput, { type: 'redis' }>, 'type'>;

/** What a config file may say about the SQLite store, as written there (durations as text). */
export type SqliteStoreInput = Omit<Extract<StoreInput, { type: 'sqlite' }>, 'type'>;

/** For stores that need no Redis password. */
export const NO_STORE_SECRETS: StoreSecrets = { redisPassword: null, sentinelPassword: null };

/** The section the config would hold for `store: { type: memory, ...input }`. */
export function memoryStoreSettings(input: MemoryStoreInput = {}): MemoryStoreSettings {
  const settings = storeSchema.parse({ ...input, type: 'memory' });
  if (settings.type !== 'memory') throw new Error('the schema turned a memory store section into another type');
  return settings;
}

/** The section the config would hold for `store: { type: sqlite, path, ...input }` (give `path` absolute). */
export function sqliteStoreSettings(input: SqliteStoreInput): SqliteStoreSettings {
  const settings = storeSchema.parse({ ...input, type: 'sqlite' });
  if (settings.type !== 'sqlite') throw new Error('the schema turned a SQLite store section into another type');
  return settings;
}

/** The section the config would hold for `store: { type: redis, ...input }`. */
export function redisStoreSettings(input: RedisStoreInput = {}): RedisStoreSettings {
  const settings = storeSchema.parse({ ...input, type: 'redis' });
  if (settings.type !== 'redis') throw new Error('the schema turned a Redis store section into another type');
  return settings;
}

/** Complete MemoryStore options: the schema's defaults under `input`. */
export function memoryStoreOptions(input: MemoryStoreInput = {}): MemoryStoreOptions {
  return memoryOptionsFrom(memoryStoreSettings(input));
}

/** Complete RedisStore options: the schema's defaults under `input`, passwords from `secrets`. */
export function redisStoreOptions(input: RedisStoreInput = {}, secrets: StoreSecrets = NO_STORE_SECRETS): RedisStoreOptions {
  return redisOptionsFrom(redisStoreSettings(input), secrets);
}
