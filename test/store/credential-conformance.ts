// The behaviour every store's managed credentials and audit log must show, run against each store: versions
// compared on every write, the audit entry written with the change, listeners told of every change.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditInput, CredentialStore } from '../../src/store/credentials.js';
import type { StoreHarness } from './conformance.js';

/** An audit entry for a test write, with what the test cares about changed. */
export const audit = (over: Partial<AuditInput> = {}): AuditInput => ({
  at: 1_800_000_000_000,
  actor: 'ops',
  action: 'create',
  grid: 'keys',
  target: 'k1',
  before: null,
  after: { id: 'k1' },
  ...over,
});

const waitFor = async (check: () => boolean, ms = 2000) => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

export function credentialConformanceSuite(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`${name} managed credentials`, () => {
    let harness: StoreHarness;
    let credentials: CredentialStore;
    const now = 1_800_000_000_000;

    beforeEach(async () => {
      harness = await makeStore();
      credentials = harness.store.credentials;
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it('creates a record at version 1 and reads it back', async () => {
      const written = await credentials.put('key', 'k1', { id: 'k1', read: ['services'], keyHash: 'sha256$x' }, null, now, audit());
      expect(written).toEqual({ ok: true, record: { kind: 'key', id: 'k1', version: 1, createdAt: now, updatedAt: now, data: { id: 'k1', read: ['services'], keyHash: 'sha256$x' } } });
      expect(await credentials.get('key', 'k1')).toEqual(written.ok ? written.record : null);
      expect(await credentials.get('user', 'k1')).toBeNull();
      expect(await credentials.list()).toEqual([written.ok ? written.record : null]);
    });

    it('refuses to create a record that exists, and to update one at another version', async () => {
      await credentials.put('key', 'k1', { n: 1 }, null, now, audit());
      const again = await credentials.put('key', 'k1', { n: 2 }, null, now, audit());
      expect(again.ok).toBe(false);
      expect(again.ok ? null : again.current?.version).toBe(1);
      const stale = await credentials.put('key', 'k1', { n: 2 }, 7, now, audit({ action: 'update' }));
      expect(stale).toMatchObject({ ok: false, current: { version: 1, data: { n: 1 } } });
      const missing = await credentials.put('key', 'nope', { n: 2 }, 1, now, audit({ action: 'update' }));
      expect(missing).toEqual({ ok: false, current: null });
      expect((await credentials.get('key', 'k1'))?.data).toEqual({ n: 1 });
      // Refused writes leave no audit entry.
      expect(await credentials.listAudit({ limit: 10 })).toHaveLength(1);
    });

    it('updates at the current version, keeping the creation time', async () => {
      await credentials.put('client', 'c1', { n: 1 }, null, now, audit());
      const updated = await credentials.put('client', 'c1', { n: 2 }, 1, now + 5000, audit({ action: 'update' }));
      expect(updated).toEqual({ ok: true, record: { kind: 'client', id: 'c1', version: 2, createdAt: now, updatedAt: now + 5000, data: { n: 2 } } });
      const third = await credentials.put('client', 'c1', { n: 3 }, 2, now + 6000, audit({ action: 'update' }));
      expect(third.ok && third.record.version).toBe(3);
    });

    it('lets exactly one of two concurrent writes at the same version win', async () => {
      await credentials.put('operator', 'o1', { n: 0 }, null, now, audit());
      const results = await Promise.all([1, 2, 3, 4].map((n) => credentials.put('operator', 'o1', { n }, 1, now, audit({ action: 'update' }))));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect((await credentials.get('operator', 'o1'))?.version).toBe(2);
    });

    it('keeps kinds apart: the same id in two kinds is two records', async () => {
      await credentials.put('user', 'same', { n: 'user' }, null, now, audit());
      await credentials.put('operator', 'same', { n: 'operator' }, null, now, audit());
      expect((await credentials.get('user', 'same'))?.data).toEqual({ n: 'user' });
      expect((await credentials.get('operator', 'same'))?.data).toEqual({ n: 'operator' });
      expect(await credentials.list()).toHaveLength(2);
    });

    it('removes a record only at its current version, and answers with what it removed', async () => {
      await credentials.put('user', 'u1', { login: 'u1' }, null, now, audit());
      expect(await credentials.remove('user', 'u1', 2, audit({ action: 'delete' }))).toMatchObject({ ok: false, current: { version: 1 } });
      const removed = await credentials.remove('user', 'u1', 1, audit({ action: 'delete' }));
      expect(removed).toMatchObject({ ok: true, record: { id: 'u1', version: 1, data: { login: 'u1' } } });
      expect(await credentials.get('user', 'u1')).toBeNull();
      expect(await credentials.remove('user', 'u1', 1, audit({ action: 'delete' }))).toEqual({ ok: false, current: null });
      // Re-created after removal, it starts again at version 1.
      const recreated = await credentials.put('user', 'u1', { login: 'u1' }, null, now, audit());
      expect(recreated.ok && recreated.record.version).toBe(1);
    });

    it('keeps ids and data exactly as given: unicode, colons, nested values', async () => {
      const data = { description: 'Zugang für «Ops»: <script>', nested: { list: [1, 'two', null], flag: false }, empty: '' };
      await credentials.put('key', 'a:b/c', data, null, now, audit());
      expect((await credentials.get('key', 'a:b/c'))?.data).toEqual(data);
    });

    it('hands out copies: changing what it returned changes nothing stored', async () => {
      await credentials.put('key', 'k1', { read: ['services'] }, null, now, audit());
      const first = await credentials.get('key', 'k1');
      (first!.data['read'] as string[]).push('snmp');
      expect((await credentials.get('key', 'k1'))?.data).toEqual({ read: ['services'] });
    });

    it('writes an audit entry with each change, newest first, paged by seq', async () => {
      await credentials.put('key', 'k1', { n: 1 }, null, now, audit({ target: 'k1' }));
      await credentials.put('key', 'k1', { n: 2 }, 1, now + 1, audit({ action: 'update', target: 'k1', before: { n: 1 }, after: { n: 2 } }));
      await credentials.appendAudit(audit({ action: 'revoke', grid: 'sessions', target: 's1', after: null, detail: { sessionsEnded: 1 } }));
      await credentials.remove('key', 'k1', 2, audit({ action: 'delete', target: 'k1', after: null }));
      const all = await credentials.listAudit({ limit: 10 });
      expect(all.map((e) => e.action)).toEqual(['delete', 'revoke', 'update', 'create']);
      const seqs = all.map((e) => e.seq);
      expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(4);
      expect(all[1]).toMatchObject({ actor: 'ops', grid: 'sessions', target: 's1', detail: { sessionsEnded: 1 } });
      expect(all[2]).toMatchObject({ before: { n: 1 }, after: { n: 2 } });
      const page = await credentials.listAudit({ limit: 2, before: all[1]!.seq });
      expect(page.map((e) => e.action)).toEqual(['update', 'create']);
      expect(await credentials.listAudit({ limit: 10, before: all[3]!.seq })).toEqual([]);
    });

    it('answers appendAudit with the entry and its seq', async () => {
      const entry = await credentials.appendAudit(audit({ action: 'revoke', grid: 'token-families', target: 'f1' }));
      expect(entry).toMatchObject({ action: 'revoke', target: 'f1', actor: 'ops' });
      expect((await credentials.listAudit({ limit: 1 }))[0]?.seq).toBe(entry.seq);
    });

    it('tells its listeners of every change, and stops when unsubscribed', async () => {
      let calls = 0;
      const off = credentials.onChange(() => calls++);
      await credentials.put('key', 'k1', { n: 1 }, null, now, audit());
      await waitFor(() => calls >= 1);
      await credentials.remove('key', 'k1', 1, audit({ action: 'delete' }));
      await waitFor(() => calls >= 2);
      off();
      const before = calls;
      await credentials.put('key', 'k2', { n: 1 }, null, now, audit());
      await new Promise((r) => setTimeout(r, 150));
      expect(calls).toBe(before);
    });

    it("names this process's own writes to its listeners: the record and the version it is at, null once removed", async () => {
      const changes: unknown[] = [];
      credentials.onChange((change) => changes.push(change));
      await credentials.put('client', 'c9', { n: 1 }, null, now, audit());
      await credentials.put('client', 'c9', { n: 2 }, 1, now, audit({ action: 'update' }));
      await credentials.remove('client', 'c9', 2, audit({ action: 'delete' }));
      await waitFor(() => changes.length >= 3);
      expect(changes).toEqual([
        { kind: 'client', id: 'c9', version: 1 },
        { kind: 'client', id: 'c9', version: 2 },
        { kind: 'client', id: 'c9', version: null },
      ]);
    });

    it('is not told of refused writes', async () => {
      await credentials.put('key', 'k1', { n: 1 }, null, now, audit());
      await new Promise((r) => setTimeout(r, 150));
      let calls = 0;
      credentials.onChange(() => calls++);
      await credentials.put('key', 'k1', { n: 2 }, 5, now, audit());
      await new Promise((r) => setTimeout(r, 150));
      expect(calls).toBe(0);
    });
  });
}
