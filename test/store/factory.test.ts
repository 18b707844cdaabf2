// The store factory: what the config's store section turns into. A store built here gets exactly the settings
// the schema parsed, the passwords the config resolved, and the contents of the TLS files it names.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createStore, redisStoreOptions } from '../../src/store/factory.js';
import { MemoryStore } from '../../src/store/memory.js';
import { NO_STORE_SECRETS, memoryStoreSettings, redisStoreSettings } from '../helpers/store-options.js';

describe('createStore', () => {
  it('builds a memory store from the memory section', async () => {
    const store = await createStore(memoryStoreSettings({ maxSessions: 10, maxFamilies: 10 }), new ManualClock(), NO_STORE_SECRETS);
    expect(store).toBeInstanceOf(MemoryStore);
    await store.close();
  });
});

describe('redisStoreOptions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-store-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the schema defaults, in milliseconds', () => {
    expect(redisStoreOptions(redisStoreSettings({ url: 'redis://cache:6380/2' }), NO_STORE_SECRETS)).toEqual({
      url: 'redis://cache:6380/2',
      tls: false,
      keyPrefix: 'portcullis:',
      commandTimeoutMs: 500,
      connectTimeoutMs: 2000,
      replicationWait: { replicas: 0, timeoutMs: 250 },
    });
  });

  it('takes the passwords from the resolved secrets, not from the section', () => {
    const settings = redisStoreSettings({
      username: 'app',
      password: { env: 'REDIS_PASSWORD' },
      sentinel: { name: 'main', nodes: [{ host: 's1', port: 26379 }], password: { env: 'SENTINEL_PASSWORD' } },
    });
    const options = redisStoreOptions(settings, { redisPassword: 'redis-secret', sentinelPassword: 'sentinel-secret' });
    expect(options).toMatchObject({
      username: 'app',
      password: 'redis-secret',
      sentinel: { name: 'main', nodes: [{ host: 's1', port: 26379 }], password: 'sentinel-secret' },
    });
    expect(redisStoreOptions(settings, NO_STORE_SECRETS)).not.toHaveProperty('password');
    expect(redisStoreOptions(settings, NO_STORE_SECRETS).sentinel).not.toHaveProperty('password');
  });

  it('reads the TLS files it names', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'CA PEM');
    const settings = redisStoreSettings({ host: 'cache', tls: { caFile: ca, rejectUnauthorized: false } });
    expect(redisStoreOptions(settings, NO_STORE_SECRETS).tls).toEqual({ ca: 'CA PEM', rejectUnauthorized: false });
  });
});
