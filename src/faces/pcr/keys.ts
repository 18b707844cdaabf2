// Looks up API keys by the SHA-256 of the presented key, and says which access a request type needs.

import { timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ResolvedApiKey } from '../../config/load.js';
import type { PcrConfig } from '../../config/schema.js';
import { sha256KeyHash } from '../../config/secrets.js';
import type { Access } from '../../authorize/permissions.js';

export const MAX_KEY_LENGTH = 256;

/** How many path segments recently found not to be keys are remembered, so they are not hashed again. */
const NOT_KEY_MEMORY = 4096;

export class ApiKeyIndex {
  /** Each key by its hash, with the hash's bytes made once for the constant-time comparison. */
  readonly #byHash: ReadonlyMap<string, { key: ResolvedApiKey; hashBytes: Buffer }>;
  readonly #byId: ReadonlyMap<string, ResolvedApiKey>;
  /**
   * Segments that are certainly not keys (`dashboard`, `tickets`), asked about again and again when logs mask
   * paths and bearer requests are checked for a second credential. Only misses are kept: no key is ever held
   * here in plain text, and a new key set builds a new index, so nothing remembered can go stale.
   */
  readonly #notKeys = new LRUCache<string, true>({ max: NOT_KEY_MEMORY });
  /** How many presented values were hashed: tests use it to show what the hot path does not do. */
  hashes = 0;

  constructor(keys: readonly ResolvedApiKey[]) {
    this.#byHash = new Map(keys.map((k) => [k.keyHash, { key: k, hashBytes: Buffer.from(k.keyHash, 'latin1') }]));
    this.#byId = new Map(keys.map((k) => [k.id, k]));
  }

  /** The configured key matching `presented`, compared by hash in constant time; undefined when none does. */
  find(presented: string): ResolvedApiKey | undefined {
    if (presented.length === 0 || presented.length > MAX_KEY_LENGTH || this.#notKeys.has(presented)) return undefined;
    this.hashes++;
    const hash = sha256KeyHash(presented);
    const candidate = this.#byHash.get(hash);
    if (candidate === undefined) {
      this.#notKeys.set(presented, true);
      return undefined;
    }
    // The map lookup already matched; this keeps the final comparison constant-time as the standard asks.
    const presentedBytes = Buffer.from(hash, 'latin1');
    return presentedBytes.length === candidate.hashBytes.length && timingSafeEqual(candidate.hashBytes, presentedBytes) ? candidate.key : undefined;
  }

  byId(id: string): ResolvedApiKey | undefined {
    return this.#byId.get(id);
  }

  all(): IterableIterator<ResolvedApiKey> {
    return this.#byId.values();
  }
}

export interface RequestPermission {
  access: Access;
  /** The section the request needs, or '*' for every configured section (the `sql` request type). */
  section: string;
}

/**
 * The access a request type needs: GET and HEAD read, POST writes unless the type is declared read-only.
 * Returns null for methods PCR-360 does not take and for unknown request types.
 */
export function requiredPermission(
  pcr: PcrConfig,
  method: string,
  target: { kind: 'request'; requestType: string } | { kind: 'report' },
): RequestPermission | 'method' | 'type' {
  const read = method === 'GET' || method === 'HEAD';
  if (!read && method !== 'POST') return 'method';
  if (target.kind === 'report') return { access: read ? 'read' : 'write', section: pcr.reportSection };
  const type = Object.hasOwn(pcr.requestTypes, target.requestType) ? pcr.requestTypes[target.requestType] : undefined;
  if (type === undefined) return 'type';
  return { access: read || type.readOnly ? 'read' : 'write', section: type.section };
}
