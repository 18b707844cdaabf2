// Public entry of the state layer: the store contract, the three stores, the rules they share and the factory that
// builds the configured one.

export * from './store.js';
export {
  createStore,
  sessionViewTiming,
  storeFromConfig,
  type MemoryStoreSettings,
  type RedisStoreSettings,
  type SqliteStoreSettings,
  type StoreSecrets,
} from './factory.js';
export { MemoryStore, type MemoryStoreOptions } from './memory.js';
export { RedisStore } from './redis/redis-store.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { parseRedisUrl, type RedisStoreOptions, type RedisTlsOptions } from './redis/client-options.js';
export { sessionEndReason } from './records.js';
export { instrumentStore, type StoreObserver, type StoreOperation } from './instrumented.js';
