// What a managed credential holds in the store, one shape per kind, and how each becomes the same resolved form a
// config entry takes, so the faces cannot tell a managed key from a declared one. Records are checked when read:
// the store is outside this process, and a record that does not fit is left out (and logged), never half-used.

import { z } from 'zod';
import type { ResolvedApiKey, ResolvedApiUser, ResolvedClient, ResolvedOperator } from '../config/load.js';
import { OAUTH_GRANTS } from '../config/schema.js';
import { isSha256KeyHash } from '../config/secrets.js';
import { parseSecretHash } from '../secrets/hash.js';
import type { StoredSecret } from '../secrets/verifier.js';
import type { CredentialKind, CredentialRecord } from '../store/credentials.js';

const strings = z.array(z.string());
const sessions = z.strictObject({ lifetimeSeconds: z.number().int().min(0).optional(), activitySeconds: z.number().int().min(0).optional() });

export const keyData = z.strictObject({
  description: z.string(),
  keyHash: z.string().refine(isSha256KeyHash),
  read: strings,
  write: strings,
  expiresAt: z.number().nullable(),
  tokenAuth: z.boolean(),
  sessions: sessions.nullable(),
});

export const userData = z.strictObject({ passwordHash: z.string(), keys: strings, sessionExpiresAt: z.number().nullable() });

export const clientData = z.strictObject({
  description: z.string(),
  secretHash: z.string(),
  accessTokenTtl: z.number().int().positive(),
  refreshTokenTtl: z.number().int().positive(),
  grants: z.array(z.enum(OAUTH_GRANTS)),
  // Records written before these fields existed read as "no service identity" and "may not introspect".
  serviceIdentity: z.strictObject({ name: z.string().min(1), teams: strings, organizations: strings, features: strings }).nullable().default(null),
  introspect: z.boolean().default(false),
});

export const operatorData = z.strictObject({ passwordHash: z.string(), apiAccess: z.boolean(), teams: strings, organizations: strings, features: strings });

export type KeyData = z.infer<typeof keyData>;
export type UserData = z.infer<typeof userData>;
export type ClientData = z.infer<typeof clientData>;
export type OperatorData = z.infer<typeof operatorData>;

export interface CredentialData {
  key: KeyData;
  user: UserData;
  client: ClientData;
  operator: OperatorData;
}

const SCHEMAS: { [K in CredentialKind]: z.ZodType<CredentialData[K]> } = { key: keyData, user: userData, client: clientData, operator: operatorData };

/** The record's data in its kind's shape, or null when it does not fit. */
export function dataOf<K extends CredentialKind>(kind: K, record: CredentialRecord): CredentialData[K] | null {
  const parsed = SCHEMAS[kind].safeParse(record.data);
  return parsed.success ? parsed.data : null;
}

function storedSecret(text: string): StoredSecret | null {
  const parsed = parseSecretHash(text);
  return parsed ? { text, parsed } : null;
}

export function resolveKey(id: string, d: KeyData): ResolvedApiKey {
  return {
    id,
    description: d.description,
    keyHash: d.keyHash,
    read: d.read,
    write: d.write,
    tokenAuth: d.tokenAuth,
    ...(d.expiresAt === null ? {} : { expiresAt: d.expiresAt }),
    ...(d.sessions === null ? {} : { sessions: d.sessions }),
    // A managed key is never sent upstream: the key segment is removed, as `upstreamKey: remove` does.
    upstreamKey: null,
    readSections: new Set(d.read),
    writeSections: new Set(d.write),
  };
}

export function resolveUser(login: string, d: UserData): ResolvedApiUser | null {
  const password = storedSecret(d.passwordHash);
  if (password === null) return null;
  return { login, password, keys: d.keys, ...(d.sessionExpiresAt === null ? {} : { sessionExpiresAt: d.sessionExpiresAt }) };
}

export function resolveClient(id: string, d: ClientData): ResolvedClient | null {
  const secret = storedSecret(d.secretHash);
  if (secret === null) return null;
  return {
    id,
    description: d.description,
    secret,
    accessTokenTtl: d.accessTokenTtl,
    refreshTokenTtl: d.refreshTokenTtl,
    grants: d.grants,
    allowsPassword: d.grants.includes('password'),
    allowsRefresh: d.grants.includes('refresh_token'),
    // A record that allows the grant without saying whom it acts as is not served the grant (no one to forward).
    allowsClientCredentials: d.grants.includes('client_credentials') && d.serviceIdentity !== null,
    ...(d.serviceIdentity === null ? {} : { serviceIdentity: d.serviceIdentity }),
    introspect: d.introspect,
    mayIntrospect: d.introspect,
  };
}

export function resolveOperator(login: string, d: OperatorData): ResolvedOperator | null {
  const password = storedSecret(d.passwordHash);
  if (password === null) return null;
  return { login, password, apiAccess: d.apiAccess, teams: d.teams, organizations: d.organizations, features: d.features };
}
