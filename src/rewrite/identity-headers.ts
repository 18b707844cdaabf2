// Turns an authenticated identity into the headers the upstream trusts. Header names come from config; every
// incoming header that could be mistaken for one of them has already been removed by the sanitiser.

import type { IdentityHeaderConfig } from '../config/schema.js';
import type { Identity } from '../authenticate/contract.js';
import { canonicalHeaderName, compileHeaderPolicy, type HeaderPolicy } from './sanitize-headers.js';

export interface IdentityHeaderNames {
  auth: string;
  user: string;
  clientId: string;
  scope: string;
  teams: string;
  organizations: string;
  features: string;
  apiKeyId: string;
  section: string;
  access: string;
  issuer: string;
}

/** Client credentials that never travel upstream, whatever the route. */
export const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'pcr-auth-token', 'pcr-auth-username', 'pcr-auth-password'];

export function identityHeaderNames(config: IdentityHeaderConfig): IdentityHeaderNames {
  const { stripPrefixes: _prefixes, ...names } = config;
  const lower = Object.fromEntries(Object.entries(names).map(([k, v]) => [k, v.toLowerCase()]));
  return lower as unknown as IdentityHeaderNames;
}

export function headerPolicyFor(config: IdentityHeaderConfig): HeaderPolicy {
  const names = identityHeaderNames(config);
  return compileHeaderPolicy({
    ownedNames: Object.values(names).map(canonicalHeaderName),
    ownedPrefixes: config.stripPrefixes.map(canonicalHeaderName),
    credentialNames: CREDENTIAL_HEADERS,
  });
}

export function addIdentityHeaders(headers: Record<string, string | string[]>, identity: Identity, names: IdentityHeaderNames): void {
  headers[names.auth] = identity.method;
  if (identity.user !== undefined) headers[names.user] = identity.user;
  if (identity.clientId !== undefined) headers[names.clientId] = identity.clientId;
  if (identity.scope !== undefined) headers[names.scope] = identity.scope;
  if (identity.teams !== undefined) headers[names.teams] = identity.teams.join(',');
  if (identity.organizations !== undefined) headers[names.organizations] = identity.organizations.join(',');
  if (identity.features !== undefined) headers[names.features] = identity.features.join(',');
  if (identity.apiKeyId !== undefined) headers[names.apiKeyId] = identity.apiKeyId;
  if (identity.section !== undefined) headers[names.section] = identity.section;
  if (identity.access !== undefined) headers[names.access] = identity.access;
  if (identity.issuer !== undefined) headers[names.issuer] = identity.issuer;
}
