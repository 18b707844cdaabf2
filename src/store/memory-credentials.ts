// Managed credentials and the audit log in process memory: for tests and for deployments that want nothing on
// disk (what is created is gone at restart, which the README says). Writes are synchronous, so each one is atomic.

import type { AuditEntry, AuditInput, CredentialKind, CredentialRecord, CredentialStore, CredentialWrite } from './credentials.js';
import { AUDIT_RETENTION } from './credentials.js';
import { ChangeListeners, type ChangeListener } from './credential-listeners.js';

const slot = (kind: CredentialKind, id: string) => `${kind}\u0000${id}`;

/** Copies, so no caller can change a stored record by mutating what it was handed. */
const copy = <T>(value: T): T => structuredClone(value);

export class MemoryCredentialStore implements CredentialStore {
  readonly #records = new Map<string, CredentialRecord>();
  /** Oldest first. */
  readonly #audit: AuditEntry[] = [];
  readonly #retention: number;
  readonly #listeners = new ChangeListeners();
  #seq = 0;

  constructor(retention = AUDIT_RETENTION) {
    this.#retention = retention;
  }

  list(): Promise<CredentialRecord[]> {
    return Promise.resolve([...this.#records.values()].map(copy));
  }

  get(kind: CredentialKind, id: string): Promise<CredentialRecord | null> {
    const record = this.#records.get(slot(kind, id));
    return Promise.resolve(record ? copy(record) : null);
  }

  put(kind: CredentialKind, id: string, data: Record<string, unknown>, expected: number | null, now: number, audit: AuditInput): Promise<CredentialWrite> {
    const current = this.#records.get(slot(kind, id)) ?? null;
    if ((current?.version ?? null) !== expected) return Promise.resolve({ ok: false, current: current ? copy(current) : null });
    const record: CredentialRecord = { kind, id, version: (current?.version ?? 0) + 1, createdAt: current?.createdAt ?? now, updatedAt: now, data: copy(data) };
    this.#records.set(slot(kind, id), record);
    this.#append(audit);
    this.#listeners.notify({ kind, id, version: record.version });
    return Promise.resolve({ ok: true, record: copy(record) });
  }

  remove(kind: CredentialKind, id: string, expected: number, audit: AuditInput): Promise<CredentialWrite> {
    const current = this.#records.get(slot(kind, id)) ?? null;
    if (current === null || current.version !== expected) return Promise.resolve({ ok: false, current: current ? copy(current) : null });
    this.#records.delete(slot(kind, id));
    this.#append(audit);
    this.#listeners.notify({ kind, id, version: null });
    return Promise.resolve({ ok: true, record: current });
  }

  appendAudit(audit: AuditInput): Promise<AuditEntry> {
    return Promise.resolve(copy(this.#append(audit)));
  }

  listAudit(query: { before?: number; limit: number }): Promise<AuditEntry[]> {
    const found: AuditEntry[] = [];
    for (let i = this.#audit.length - 1; i >= 0 && found.length < query.limit; i--) {
      const entry = this.#audit[i]!;
      if (query.before === undefined || entry.seq < query.before) found.push(copy(entry));
    }
    return Promise.resolve(found);
  }

  onChange(listener: ChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  #append(audit: AuditInput): AuditEntry {
    const entry: AuditEntry = { seq: ++this.#seq, ...copy(audit) };
    this.#audit.push(entry);
    if (this.#audit.length > this.#retention) this.#audit.splice(0, this.#audit.length - this.#retention);
    return entry;
  }
}
