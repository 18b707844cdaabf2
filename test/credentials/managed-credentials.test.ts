// A process's view of the managed credentials: read once at start, updated at once by its own writes without
// re-reading the whole store, and re-read when another process (or a reconnect) says something changed.

import { describe, expect, it } from 'vitest';
import { ManagedCredentials } from '../../src/credentials/managed-credentials.js';
import { createLogger } from '../../src/log/logger.js';
import type { AuditInput } from '../../src/store/credentials.js';
import { MemoryCredentialStore } from '../../src/store/memory-credentials.js';

const audit: AuditInput = { at: 0, actor: 'ops', action: 'create', grid: 'keys', target: 'k', before: null, after: null };
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

class CountingStore extends MemoryCredentialStore {
  lists = 0;
  override list() {
    this.lists++;
    return super.list();
  }
}

async function started() {
  const store = new CountingStore();
  let changed = 0;
  const managed = new ManagedCredentials(store, createLogger({ level: 'silent' }), () => changed++);
  await managed.start();
  return { store, managed, changes: () => changed };
}

describe('ManagedCredentials', () => {
  it('reads the store once at start', async () => {
    const { store, managed } = await started();
    expect(store.lists).toBe(1);
    expect(managed.current.size).toBe(0);
    managed.stop();
  });

  it("takes its own writes at once and does not re-read the store for them", async () => {
    const { store, managed, changes } = await started();
    for (let i = 0; i < 20; i++) {
      const written = await store.put('key', `k${i}`, { n: i }, null, 0, audit);
      if (written.ok) managed.applied(written.record);
    }
    await settle();
    const removed = await store.remove('key', 'k0', 1, audit);
    if (removed.ok) managed.removed('key', 'k0');
    await settle();
    expect(store.lists).toBe(1);
    expect(managed.current.size).toBe(19);
    expect(managed.current.get('key', 'k0')).toBeUndefined();
    expect(changes()).toBe(21);
    managed.stop();
  });

  it('re-reads the store for a write it did not apply itself (another process, another service)', async () => {
    const { store, managed } = await started();
    await store.put('user', 'u1', { n: 1 }, null, 0, audit);
    await settle();
    expect(store.lists).toBe(2);
    expect(managed.current.get('user', 'u1')?.version).toBe(1);
    managed.stop();
  });

  it('re-reads once for a burst of changes it did not make, and not after stop', async () => {
    const { store, managed } = await started();
    await Promise.all([managed.refresh(), managed.refresh(), managed.refresh(), managed.refresh()]);
    expect(store.lists).toBeLessThanOrEqual(3);
    managed.stop();
    const before = store.lists;
    await store.put('user', 'u2', { n: 1 }, null, 0, audit);
    await settle();
    expect(store.lists).toBe(before);
  });
});
