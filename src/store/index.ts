// Entry point of the state layer: picks and connects the configured store, and re-exports the store types.

import { systemClock, type Clock } from '../clock.js';
import { MemoryStore, type MemoryStoreOptions } from './memory.js';
import { RedisStore, type RedisStoreOptions } from './redis.js';
import type { Store } from './store.js';

export type StoreOptions =
  | { type: 'memory'; memory?: Partial<MemoryStoreOptions> }
  | { type: 'redis'; redis: RedisStoreOptions };

/**
 * Builds the configured store. A Redis store is only returned once it is connected and subscribed, so a
 * misconfigured or unreachable Redis fails startup with a StoreUnavailableError instead of the first request.
 */
export async function createStore(options: StoreOptions, clock: Clock = systemClock): Promise<Store> {
  switch (options.type) {
    case 'memory':
      return new MemoryStore(options.memory ?? {}, clock);
    case 'redis': {
      const store = new RedisStore(options.redis, clock);
      try {
        await store.waitUntilReady();
      } catch (err) {
        await store.close();
        throw err;
      }
      return store;
    }
    default: {
      const unknown: never = options;
      throw new Error(`Unknown store type: ${String((unknown as { type?: unknown }).type)}`);
    }
  }
}

export { MemoryStore, DEFAULT_MEMORY_STORE_OPTIONS, type MemoryStoreOptions } from './memory.js';
export {
  RedisStore,
  parseRedisUrl,
  DEFAULT_KEY_PREFIX,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type RedisStoreOptions,
  type RedisTlsOptions,
} from './redis.js';
export * from './store.js';
