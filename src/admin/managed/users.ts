// The API Users grid (PCR-360): a user is added with its keys and a session expiration date; as in the vendor's
// tab, only that date can be edited afterwards. Deleting a user ends all of its sessions.

import { z } from 'zod';
import { apiUserSchema, isoDate } from '../../config/schema/pcr.js';
import type { UserData } from '../../credentials/records.js';
import { iso } from '../grids/views.js';
import type { GridDefinition, GridInput, Problem } from './definition.js';
import { refusedFields, validate, without } from './problems.js';
import { generatedSecret, secretInput, shownIfGenerated, storedHash } from './secrets.js';

const ONLY_THE_DATE = 'only sessionExpiresAt can be changed; delete the user and add it again to change anything else';

const createSchema = z.strictObject({
  login: apiUserSchema.shape.login,
  password: secretInput.optional(),
  keys: z.array(z.string()).min(1, 'expected at least one API key id'),
  sessionExpiresAt: isoDate.optional(),
});
const patchSchema = z.strictObject({ sessionExpiresAt: isoDate.nullable() }).partial();


function unknownKeys(body: Record<string, unknown>, input: GridInput): Problem[] {
  const keys = body['keys'];
  if (!Array.isArray(keys)) return [];
  return keys.flatMap((id, j) => (typeof id === 'string' && !input.keyExists(id) ? [{ path: `keys[${j}]`, message: `unknown API key id "${id}"` }] : []));
}

export const usersGrid: GridDefinition<'user'> = {
  kind: 'user',
  grid: 'users',
  idField: 'login',
  noun: 'API user',
  declared(parsed, now) {
    const views = new Map<string, Record<string, unknown>>();
    for (const u of parsed.pcr?.users ?? []) views.set(u.login, usersGrid.view(u.login, { passwordHash: '', keys: u.keys, sessionExpiresAt: u.sessionExpiresAt ?? null }, now));
    return views;
  },
  async create(body, input) {
    const checked = validate(createSchema, body, unknownKeys(body, input));
    if (!checked.ok) return checked;
    const u = checked.value;
    const password = u.password ?? generatedSecret();
    const data: UserData = { passwordHash: await storedHash(password), keys: [...new Set(u.keys)], sessionExpiresAt: u.sessionExpiresAt ?? null };
    return { ok: true, value: { id: u.login, data, shown: shownIfGenerated('password', password, u.password) } };
  },
  async update(body, current) {
    const others = Object.keys(body).filter((field) => field !== 'sessionExpiresAt');
    const refused = refusedFields(body, Object.fromEntries(others.map((field) => [field, field === 'login' ? 'the login cannot be changed' : ONLY_THE_DATE])));
    const checked = validate(patchSchema, without(body, others), refused);
    if (!checked.ok) return checked;
    const { sessionExpiresAt } = checked.value;
    return { ok: true, value: sessionExpiresAt === undefined ? current : { ...current, sessionExpiresAt } };
  },
  view(login, d, now) {
    return { login, keys: d.keys, sessionExpiresAt: iso(d.sessionExpiresAt), expired: d.sessionExpiresAt !== null && now >= d.sessionExpiresAt };
  },
  live: {
    field: 'liveSessions',
    async count(store, now) {
      const counts = new Map<string, number>();
      for (const s of await store.listSessions({}, now)) counts.set(s.user, (counts.get(s.user) ?? 0) + 1);
      return counts;
    },
  },
  async end(store, login) {
    return { sessionsEnded: (await store.deleteSessions({ user: login })).length };
  },
};
