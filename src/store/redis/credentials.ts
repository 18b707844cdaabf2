// Managed credentials and the audit log in Redis: every record in one hash, the audit log in one list newest
// first, both under the {c} hash tag. Writes run as the scripts in credential-scripts.ts, which compare the
// version, write, append the audit entry and publish the change atomically.

import type { AuditEntry, AuditInput, CredentialKind, CredentialRecord, CredentialStore, CredentialWrite } from '../credentials.js';
import { AUDIT_RETENTION } from '../credentials.js';
import type { ChangeListener } from '../credential-listeners.js';
import type { RedisContext } from './connection.js';
import { str } from './encoding.js';
import { runScript } from './scripts.js';

export interface RedisCredentialOptions {
  /** How many audit entries are kept; older ones are trimmed as new ones arrive. */
  auditRetention?: number;
}

/** A record as stored: its header first (the scripts read only that), then the caller's fields. */
type StoredRecord = Pick<CredentialRecord, 'version' | 'createdAt' | 'updatedAt' | 'kind' | 'id' | 'data'>;

/** Parsed afresh on every read, so no caller can change what another one is handed. */
function decodeRecord(raw: string): CredentialRecord {
  const { kind, id, version, createdAt, updatedAt, data } = JSON.parse(raw) as StoredRecord;
  return { kind, id, version, createdAt, updatedAt, data };
}

const decodeEntry = (raw: string): AuditEntry => JSON.parse(raw) as AuditEntry;

/** The JSON of `value` without its opening brace: the scripts put their own fields in front. */
const jsonBody = (value: object): string => JSON.stringify(value).slice(1);

const byCreation = (a: CredentialRecord, b: CredentialRecord): number =>
  a.createdAt - b.createdAt || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class RedisCredentials implements CredentialStore {
  readonly #redis: RedisContext;
  readonly #retention: number;

  constructor(redis: RedisContext, options: RedisCredentialOptions = {}) {
    const retention = options.auditRetention ?? AUDIT_RETENTION;
    if (!Number.isInteger(retention) || retention < 1) throw new RangeError('auditRetention must be a positive integer');
    this.#redis = redis;
    this.#retention = retention;
  }

  /** One HGETALL however many records there are; sorted, as Redis returns a hash in no useful order. */
  async list(): Promise<CredentialRecord[]> {
    const { connection, keys } = this.#redis;
    const all = await connection.run('listCredentials', () => connection.client.hgetall(keys.credentials()));
    return Object.values(all).map(decodeRecord).sort(byCreation);
  }

  async get(kind: CredentialKind, id: string): Promise<CredentialRecord | null> {
    const { connection, keys } = this.#redis;
    const raw = await connection.run('getCredential', () => connection.client.hget(keys.credentials(), keys.credentialField(kind, id)));
    return raw === null ? null : decodeRecord(raw);
  }

  put(kind: CredentialKind, id: string, data: Record<string, unknown>, expected: number | null, now: number, audit: AuditInput): Promise<CredentialWrite> {
    const { keys, connection } = this.#redis;
    // The script writes version, createdAt and updatedAt in front of these, as only it knows the first two.
    const args = [
      keys.credentialField(kind, id),
      expected === null ? '' : str(expected),
      str(now),
      jsonBody({ kind, id, data }),
      JSON.stringify(audit),
      str(this.#retention),
      connection.channel,
      connection.credentialsMessage,
    ];
    return this.#write('putCredential', 'pcPutCredential', args);
  }

  remove(kind: CredentialKind, id: string, expected: number, audit: AuditInput): Promise<CredentialWrite> {
    const { keys, connection } = this.#redis;
    const args = [
      keys.credentialField(kind, id),
      str(expected),
      JSON.stringify(audit),
      str(this.#retention),
      connection.channel,
      connection.credentialsMessage,
    ];
    return this.#write('removeCredential', 'pcRemoveCredential', args);
  }

  async appendAudit(audit: AuditInput): Promise<AuditEntry> {
    const { connection } = this.#redis;
    const raw = await connection.run('appendAudit', () =>
      runScript(connection.client, 'pcAppendAudit', this.#scriptKeys(), [JSON.stringify(audit), str(this.#retention)]),
    );
    return decodeEntry(String(raw));
  }

  async listAudit(query: { before?: number; limit: number }): Promise<AuditEntry[]> {
    const { connection, keys } = this.#redis;
    const args = [query.before === undefined ? '' : str(query.before), str(Math.max(0, Math.floor(query.limit)))];
    const raw = (await connection.run('listAudit', () => runScript(connection.client, 'pcListAudit', [keys.auditLog()], args))) as string[];
    return raw.map(decodeEntry);
  }

  onChange(listener: ChangeListener): () => void {
    return this.#redis.connection.onCredentialsChange(listener);
  }

  /**
   * The change is published from inside the script, so no other process can miss a write that landed (short of
   * its subscriber being disconnected, which ends in a resync). This process's own listeners are told here,
   * once: the connection skips the echo of its own message.
   */
  async #write(op: string, script: 'pcPutCredential' | 'pcRemoveCredential', args: string[]): Promise<CredentialWrite> {
    const { connection } = this.#redis;
    let reply: [number, string];
    try {
      reply = (await connection.run(op, () => runScript(connection.client, script, this.#scriptKeys(), args))) as [number, string];
    } catch (err) {
      // A timed-out script may still have run, and then this process would hear of it from nobody: listeners
      // only re-read, so an unneeded call costs one read while a missed one leaves a stale cache.
      connection.credentialsChanged(null);
      throw err;
    }
    const [written, raw] = reply;
    if (Number(written) !== 1) return { ok: false, current: raw ? decodeRecord(raw) : null };
    const record = decodeRecord(raw);
    connection.credentialsChanged({ kind: record.kind, id: record.id, version: script === 'pcRemoveCredential' ? null : record.version });
    // A removed key or a narrowed permission must not come back with a failover.
    await connection.replicated(op);
    return { ok: true, record };
  }

  #scriptKeys(): string[] {
    const { keys } = this.#redis;
    return [keys.credentials(), keys.auditLog(), keys.auditSeq()];
  }
}
