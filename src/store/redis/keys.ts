// The names of the Redis store's keys and of its revocation channel, all under the configured prefix.
//
// Everything a script touches together shares a hash tag ({s} for sessions and their indexes, {f} for families,
// their refresh tokens and indexes, {c} for managed credentials and the audit log) so that in a cluster each
// script addresses a single slot. That puts all sessions on one shard and all families on one (possibly another);
// at the size of this state that is a fair price for atomic index updates. Revoked jtis and failure counters are single-key and spread freely. The same
// layout is used without a cluster, so a deployment can move between the two without migrating.

export type SessionIndex = 'all' | 'key' | 'user';
export type FamilyIndex = 'all' | 'client' | 'sub';

export class RedisKeys {
  readonly #prefix: string;
  readonly revocationChannel: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
    this.revocationChannel = `${prefix}revocations`;
  }

  session(id: string): string {
    return this.#key('s', `sess:${id}`);
  }

  /** Sorted set of session ids: all of them, or those of one API key (`key`) or one API user (`user`). */
  sessionIndex(by: SessionIndex, value = ''): string {
    return this.#key('s', by === 'all' ? 'idx:all' : `idx:${by}:${value}`);
  }

  family(id: string): string {
    return this.#key('f', `fam:${id}`);
  }

  refreshToken(hash: string): string {
    return this.#key('f', `rt:${hash}`);
  }

  /** Sorted set of family ids: all of them, or those of one OAuth client (`client`) or one operator (`sub`). */
  familyIndex(by: FamilyIndex, value = ''): string {
    return this.#key('f', by === 'all' ? 'idx:all' : `idx:${by}:${value}`);
  }

  /** One hash of every managed credential: field `kind:id`, value the record's JSON including its version. */
  credentials(): string {
    return this.#key('c', 'cred');
  }

  /** The field of record (kind, id) in `credentials()`; kinds hold no colon, so the first one separates. */
  credentialField(kind: string, id: string): string {
    return `${kind}:${id}`;
  }

  /** List of audit entries, newest first, trimmed to the retention. */
  auditLog(): string {
    return this.#key('c', 'audit');
  }

  /** The counter the audit entries' seqs are drawn from. */
  auditSeq(): string {
    return this.#key('c', 'audit:seq');
  }

  revokedToken(jti: string): string {
    return this.#key(null, `jti:${jti}`);
  }

  failures(key: string): string {
    return this.#key(null, `fail:${key}`);
  }

  #key(group: 's' | 'f' | 'c' | null, rest: string): string {
    return group ? `${this.#prefix}{${group}}:${rest}` : `${this.#prefix}${rest}`;
  }
}
