// The API Access grid (Cockpit's "Administration / API Access" form): client id, description, secret (generated
// and shown once, or set by the admin; stored as scrypt), access and refresh expiry in hours and minutes, and the
// "Password" and "Refresh token" authorizations. The scope is the proxy's one scope and cannot be changed here.
// Deleting a client revokes every grant it holds.

import { z } from 'zod';
import { formatDuration, parseDuration } from '../../config/duration.js';
import { oauthClientSchema } from '../../config/schema.js';
import type { ClientData } from '../../credentials/records.js';
import type { GridDefinition } from './definition.js';
import { liveGrantsBy, revokeGrants } from './grants.js';
import { refusedFields, validate, without } from './problems.js';
import { generatedSecret, secretInput, shownIfGenerated, storedHash } from './secrets.js';

const SCOPE_IS_FIXED = 'the scope is the proxy\'s one scope (oauth.scope in the config file) and cannot be set per client';

const fields = oauthClientSchema.shape;
const grantsOf = (row: Record<string, unknown>): unknown[] => (Array.isArray(row['grants']) ? row['grants'] : []);
// A lifetime of zero would issue tokens that are dead on arrival.
const lifetime = (example: string) => fields.accessTokenTtl.refine((ms) => ms > 0, `expected a duration above zero, like "${example}"`);
const createSchema = z.strictObject({
  id: fields.id,
  description: fields.description,
  secret: secretInput.optional(),
  accessTokenTtl: lifetime('1h').prefault('1h'),
  refreshTokenTtl: lifetime('8h').prefault('8h'),
  grants: fields.grants.prefault(['password', 'refresh_token']),
});
const patchSchema = z
  .strictObject({ description: fields.description, secret: secretInput, accessTokenTtl: lifetime('1h'), refreshTokenTtl: lifetime('8h'), grants: fields.grants })
  .partial();

export const clientsGrid: GridDefinition<'client'> = {
  kind: 'client',
  grid: 'clients',
  idField: 'id',
  noun: 'OAuth client',
  declared(parsed, now) {
    const views = new Map<string, Record<string, unknown>>();
    for (const c of parsed.oauth.clients) {
      views.set(c.id, clientsGrid.view(c.id, { description: c.description, secretHash: '', accessTokenTtl: c.accessTokenTtl, refreshTokenTtl: c.refreshTokenTtl, grants: c.grants }, now));
    }
    return views;
  },
  async create(body) {
    const checked = validate(createSchema, without(body, ['scope']), refusedFields(body, { scope: SCOPE_IS_FIXED }));
    if (!checked.ok) return checked;
    const c = checked.value;
    const secret = c.secret ?? generatedSecret();
    const data: ClientData = { description: c.description, secretHash: await storedHash(secret), accessTokenTtl: c.accessTokenTtl, refreshTokenTtl: c.refreshTokenTtl, grants: c.grants };
    return { ok: true, value: { id: c.id, data, shown: shownIfGenerated('secret', secret, c.secret) } };
  },
  async update(body, current) {
    const refused = refusedFields(body, { id: 'the client id cannot be changed', scope: SCOPE_IS_FIXED });
    const checked = validate(patchSchema, without(body, ['id', 'scope']), refused);
    if (!checked.ok) return checked;
    const { secret, ...rest } = checked.value;
    const next: ClientData = { ...current };
    if (rest.description !== undefined) next.description = rest.description;
    if (rest.accessTokenTtl !== undefined) next.accessTokenTtl = rest.accessTokenTtl;
    if (rest.refreshTokenTtl !== undefined) next.refreshTokenTtl = rest.refreshTokenTtl;
    if (rest.grants !== undefined) next.grants = rest.grants;
    if (secret !== undefined) next.secretHash = await storedHash(secret);
    return { ok: true, value: next };
  },
  view(id, d) {
    return { id, description: d.description, accessTokenTtl: formatDuration(d.accessTokenTtl), refreshTokenTtl: formatDuration(d.refreshTokenTtl), grants: d.grants };
  },
  live: { field: 'liveGrants', count: (store, now) => liveGrantsBy(store, now, 'clientId') },
  // Lifetimes are shown as "1h30m", which sorts wrongly as text; the two authorizations are one array.
  sortKeys: {
    accessTokenTtl: (row) => parseDuration(String(row['accessTokenTtl'])),
    refreshTokenTtl: (row) => parseDuration(String(row['refreshTokenTtl'])),
    password: (row) => grantsOf(row).includes('password'),
    refreshToken: (row) => grantsOf(row).includes('refresh_token'),
  },
  async end(store, id, now) {
    return { grantsRevoked: await revokeGrants(store, { clientId: id }, now) };
  },
};
