// OAuth grants (token families) as the API Access and Operators grids count and end them.

import type { FamilyFilter, Store } from '../../store/store.js';

export async function liveGrantsBy(store: Store, now: number, by: 'clientId' | 'subject'): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const f of await store.listFamilies({}, now)) if (f.revokedAt === null) counts.set(f[by], (counts.get(f[by]) ?? 0) + 1);
  return counts;
}

/** Revokes every live grant matching `filter`; returns how many were revoked. */
export async function revokeGrants(store: Store, filter: FamilyFilter, now: number): Promise<number> {
  let revoked = 0;
  for (const family of await store.listFamilies(filter, now)) {
    if (family.revokedAt === null && (await store.revokeFamily(family.id, now))) revoked++;
  }
  return revoked;
}
