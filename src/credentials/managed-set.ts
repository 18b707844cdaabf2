// The managed credentials a process knows, as last read from the store or just written by this process's admin
// API: records by kind and id, with the version each one is at.

import { CREDENTIAL_KINDS, type CredentialKind, type CredentialRecord } from '../store/credentials.js';

export class ManagedSet {
  readonly #byKind = new Map<CredentialKind, Map<string, CredentialRecord>>(CREDENTIAL_KINDS.map((kind) => [kind, new Map()]));

  constructor(records: Iterable<CredentialRecord> = []) {
    for (const record of records) this.#byKind.get(record.kind)?.set(record.id, record);
  }

  get(kind: CredentialKind, id: string): CredentialRecord | undefined {
    return this.#byKind.get(kind)!.get(id);
  }

  of(kind: CredentialKind): ReadonlyMap<string, CredentialRecord> {
    return this.#byKind.get(kind)!;
  }

  /** Takes a record this process just wrote, unless the set already holds a newer version of it. */
  apply(record: CredentialRecord): void {
    const records = this.#byKind.get(record.kind)!;
    const known = records.get(record.id);
    if (known === undefined || known.version < record.version || known.createdAt !== record.createdAt) records.set(record.id, record);
  }

  forget(kind: CredentialKind, id: string): void {
    this.#byKind.get(kind)!.delete(id);
  }

  get size(): number {
    let n = 0;
    for (const records of this.#byKind.values()) n += records.size;
    return n;
  }
}
