// The API Access grid (Cockpit's "Administration / API Access" form): client id, description, secret (generated
// and shown once, or set by the admin; stored as scrypt), access and refresh expiry in hours and minutes, the
// "Password" and "Refresh token" authorizations, client credentials with the service identity the client is
// forwarded as, and whether the client may introspect tokens. The scope is the proxy's one scope and cannot be
// changed here. Deleting a client revokes every grant it holds.

import { z } from 'zod';
import { formatDuration, parseDuration } from '../../config/duration.js';
import { oauthClientSchema, SERVICE_IDENTITY_REQUIRED, serviceIdentitySchema } from '../../config/schema.js';
import type { ClientData } from '../../credentials/records.js';
import type { GridDefinition, Problem } from './definition.js';
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
  serviceIdentity: serviceIdentitySchema.optional(),
  introspect: fields.introspect,
});
const patchSchema = z
  .strictObject({
    description: fields.description,
    secret: secretInput,
    accessTokenTtl: lifetime('1h'),
    refreshTokenTtl: lifetime('8h'),
    grants: fields.grants,
    // null takes the identity away, which only a client without client credentials may do.
    serviceIdentity: serviceIdentitySchema.nullable(),
    introspect: z.boolean(),
  })
  .partial();

/** The rule the config file's schema applies, on the record as it would be stored (after a patch, too). */
function serviceIdentityProblems(data: Pick<ClientData, 'grants' | 'serviceIdentity'>): Problem[] {
  return data.grants.includes('client_credentials') && data.serviceIdentity === null ? [{ path: 'serviceIdentity', message: SERVICE_IDENTITY_REQUIRED }] : [];
}

export const clientsGrid: GridDefinition<'client'> = {
  kind: 'client',
  grid: 'clients',
  idField: 'id',
  noun: 'OAuth client',
  declared(parsed, now) {
    const views = new Map<string, Record<string, unknown>>();
    for (const c of parsed.oauth.clients) {
      const data: ClientData = {
        description: c.description,
        secretHash: '',
        accessTokenTtl: c.accessTokenTtl,
        refreshTokenTtl: c.refreshTokenTtl,
        grants: c.grants,
        serviceIdentity: c.serviceIdentity ?? null,
        introspect: c.introspect,
      };
      views.set(c.id, clientsGrid.view(c.id, data, now));
    }
    return views;
  },
  async create(body) {
    const checked = validate(createSchema, without(body, ['scope']), refusedFields(body, { scope: SCOPE_IS_FIXED }));
    if (!checked.ok) return checked;
    const c = checked.value;
    const identity = { grants: c.grants, serviceIdentity: c.serviceIdentity ?? null };
    const problems = serviceIdentityProblems(identity);
    if (problems.length > 0) return { ok: false, problems };
    const secret = c.secret ?? generatedSecret();
    const data: ClientData = {
      description: c.description,
      secretHash: await storedHash(secret),
      accessTokenTtl: c.accessTokenTtl,
      refreshTokenTtl: c.refreshTokenTtl,
      ...identity,
      introspect: c.introspect,
    };
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
    if (rest.serviceIdentity !== undefined) next.serviceIdentity = rest.serviceIdentity;
    if (rest.introspect !== undefined) next.introspect = rest.introspect;
    const problems = serviceIdentityProblems(next);
    if (problems.length > 0) return { ok: false, problems };
    if (secret !== undefined) next.secretHash = await storedHash(secret);
    return { ok: true, value: next };
  },
  view(id, d) {
    return {
      id,
      description: d.description,
      accessTokenTtl: formatDuration(d.accessTokenTtl),
      refreshTokenTtl: formatDuration(d.refreshTokenTtl),
      grants: d.grants,
      serviceIdentity: d.serviceIdentity,
      introspect: d.introspect,
    };
  },
  live: { field: 'liveGrants', count: (store, now) => liveGrantsBy(store, now, 'clientId') },
  // Lifetimes are shown as "1h30m", which sorts wrongly as text; the authorizations are one array.
  sortKeys: {
    accessTokenTtl: (row) => parseDuration(String(row['accessTokenTtl'])),
    refreshTokenTtl: (row) => parseDuration(String(row['refreshTokenTtl'])),
    password: (row) => grantsOf(row).includes('password'),
    refreshToken: (row) => grantsOf(row).includes('refresh_token'),
    clientCredentials: (row) => grantsOf(row).includes('client_credentials'),
  },
  async end(store, id, now) {
    return { grantsRevoked: await revokeGrants(store, { clientId: id }, now) };
  },
};
