// Looks up API keys by the SHA-256 of the presented key and decides read/write permission per section.

import { timingSafeEqual } from 'node:crypto';
import type { ResolvedApiKey } from '../../config/load.js';
import type { PcrConfig } from '../../config/schema.js';
import { sha256KeyHash } from '../../config/secrets.js';

export const MAX_KEY_LENGTH = 256;

export class ApiKeyIndex {
  readonly #byHash: ReadonlyMap<string, ResolvedApiKey>;
  readonly #byId: ReadonlyMap<string, ResolvedApiKey>;

  constructor(keys: readonly ResolvedApiKey[]) {
    this.#byHash = new Map(keys.map((k) => [k.keyHash, k]));
    this.#byId = new Map(keys.map((k) => [k.id, k]));
  }

  /** The configured key matching `presented`, compared by hash in constant time; undefined when none does. */
  find(presented: string): ResolvedApiKey | undefined {
    if (presented.length === 0 || presented.length > MAX_KEY_LENGTH) return undefined;
    const hash = sha256KeyHash(presented);
    const candidate = this.#byHash.get(hash);
    if (candidate === undefined) return undefined;
    // The map lookup already matched; this keeps the final comparison constant-time as the standard asks.
    return timingSafeEqual(Buffer.from(candidate.keyHash), Buffer.from(hash)) ? candidate : undefined;
  }

  byId(id: string): ResolvedApiKey | undefined {
    return this.#byId.get(id);
  }

  all(): IterableIterator<ResolvedApiKey> {
    return this.#byId.values();
  }
}

export type Access = 'read' | 'write';

export interface RequestPermission {
  access: Access;
  /** Sections the request needs, or '*' for every configured section (the `sql` request type). */
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

export function keyAllows(key: ResolvedApiKey, permission: RequestPermission, allSections: readonly string[]): boolean {
  const granted = permission.access === 'read' ? key.readSections : key.writeSections;
  if (permission.section === '*') return allSections.every((s) => granted.has(s));
  return granted.has(permission.section);
}
