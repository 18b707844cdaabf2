// The metrics decorator around a store: it must behave exactly like the store it wraps (the shared conformance
// suite), keep the optional members the proxy finds by duck typing, and report every operation once.

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createStore } from '../../src/store/factory.js';
import { instrumentStore, type StoreObserver, type StoreOperation } from '../../src/store/instrumented.js';
import { MemoryStore } from '../../src/store/memory.js';
import { StoreUnavailableError, type RevocationEvent } from '../../src/store/store.js';
import { NO_STORE_SECRETS, memoryStoreOptions, memoryStoreSettings } from '../helpers/store-options.js';
import { storeConformanceSuite } from './conformance.js';

const smallBounds = { maxSessions: 1000, maxFamilies: 1000, maxRevocations: 1000, maxFailureKeys: 1000 };
const smallOptions = memoryStoreOptions(smallBounds);

class RecordingObserver implements StoreObserver {
  readonly operations: { operation: StoreOperation; failed: boolean }[] = [];
  readonly revocations: RevocationEvent['kind'][] = [];
  storeOperation(operation: StoreOperation, seconds: number, failed: boolean): void {
    expect(seconds).toBeGreaterThanOrEqual(0);
    this.operations.push({ operation, failed });
  }
  revocationReceived(kind: RevocationEvent['kind']): void {
    this.revocations.push(kind);
  }
}

storeConformanceSuite('instrumented MemoryStore', async () => {
  const clock = new ManualClock();
  const store = instrumentStore(await createStore(memoryStoreSettings(smallBounds), clock, NO_STORE_SECRETS), new RecordingObserver());
  return { store, clock, cleanup: () => store.close() };
});

describe('instrumentStore', () => {
  it('reports each operation, its failure and each revocation event once', async () => {
    const observer = new RecordingObserver();
    const store = instrumentStore(new MemoryStore(smallOptions), observer);
    const now = Date.UTC(2026, 0, 1);
    await store.createSession({ id: 's1', keyId: 'k', user: 'u', createdAt: now, lastActivity: now, expiresAt: null, idleTimeoutMs: 0 });
    // Listeners of the proxy do not multiply the count: the decorator keeps one subscription of its own.
    store.onRevocation(() => {});
    store.onRevocation(() => {});
    expect(await store.deleteSession('s1')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(observer.operations).toEqual([
      { operation: 'createSession', failed: false },
      { operation: 'deleteSession', failed: false },
    ]);
    expect(observer.revocations).toEqual(['session']);
    await store.close();
  });

  it('passes failures through unchanged and counts them', async () => {
    class DownStore extends MemoryStore {
      override async getSession(): Promise<never> {
        throw new StoreUnavailableError('down');
      }
    }
    const observer = new RecordingObserver();
    const store = instrumentStore(new DownStore(smallOptions), observer);
    await expect(store.getSession('x', 0)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(observer.operations).toEqual([{ operation: 'getSession', failed: true }]);
  });

  it('forwards purgeExpired, and keeps the optional members of the wrapped store and only those', () => {
    const memory = instrumentStore(new MemoryStore(smallOptions), new RecordingObserver());
    expect(typeof memory.purgeExpired).toBe('function');
    expect(memory.onResync).toBeUndefined();
    expect(memory.kind).toBe('memory');
    let resyncListener: (() => void) | null = null;
    const withResync = Object.assign(new MemoryStore(smallOptions), {
      onResync(listener: () => void) {
        resyncListener = listener;
        return () => {};
      },
    });
    const wrapped = instrumentStore(withResync, new RecordingObserver());
    let resynced = 0;
    wrapped.onResync!(() => resynced++);
    resyncListener!();
    expect(resynced).toBe(1);
  });
});
