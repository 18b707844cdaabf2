// The operators grid (Cockpit): an operator's password, its API-access right, teams, organizations and
// features, all editable. Taking the API-access right away or deleting the operator refuses its tokens from the
// next request on; deleting it also revokes its grants.

import { z } from 'zod';
import { operatorSchema } from '../../config/schema.js';
import type { OperatorData } from '../../credentials/records.js';
import type { GridDefinition } from './definition.js';
import { liveGrantsBy, revokeGrants } from './grants.js';
import { refusedFields, validate, without } from './problems.js';
import { generatedSecret, secretInput, shownIfGenerated, storedHash } from './secrets.js';

const fields = operatorSchema.shape;
const createSchema = z.strictObject({
  login: fields.login,
  password: secretInput.optional(),
  apiAccess: fields.apiAccess,
  teams: fields.teams,
  organizations: fields.organizations,
  features: fields.features,
});
const patchSchema = z
  .strictObject({ password: secretInput, apiAccess: fields.apiAccess, teams: fields.teams.unwrap(), organizations: fields.organizations.unwrap(), features: fields.features.unwrap() })
  .partial();

export const operatorsGrid: GridDefinition<'operator'> = {
  kind: 'operator',
  grid: 'operators',
  idField: 'login',
  noun: 'operator',
  declared(parsed, now) {
    const views = new Map<string, Record<string, unknown>>();
    for (const o of parsed.operators) {
      views.set(o.login, operatorsGrid.view(o.login, { passwordHash: '', apiAccess: o.apiAccess, teams: o.teams, organizations: o.organizations, features: o.features }, now));
    }
    return views;
  },
  async create(body) {
    const checked = validate(createSchema, body);
    if (!checked.ok) return checked;
    const o = checked.value;
    const password = o.password ?? generatedSecret();
    const data: OperatorData = { passwordHash: await storedHash(password), apiAccess: o.apiAccess, teams: o.teams, organizations: o.organizations, features: o.features };
    return { ok: true, value: { id: o.login, data, shown: shownIfGenerated('password', password, o.password) } };
  },
  async update(body, current) {
    const checked = validate(patchSchema, without(body, ['login']), refusedFields(body, { login: 'the login cannot be changed' }));
    if (!checked.ok) return checked;
    const { password, ...rest } = checked.value;
    const next: OperatorData = { ...current };
    if (rest.apiAccess !== undefined) next.apiAccess = rest.apiAccess;
    if (rest.teams !== undefined) next.teams = rest.teams;
    if (rest.organizations !== undefined) next.organizations = rest.organizations;
    if (rest.features !== undefined) next.features = rest.features;
    if (password !== undefined) next.passwordHash = await storedHash(password);
    return { ok: true, value: next };
  },
  view(login, d) {
    return { login, apiAccess: d.apiAccess, teams: d.teams, organizations: d.organizations, features: d.features };
  },
  live: { field: 'liveGrants', count: (store, now) => liveGrantsBy(store, now, 'subject') },
  async end(store, login, now) {
    return { grantsRevoked: await revokeGrants(store, { subject: login }, now) };
  },
};
