// The credentials a runtime serves: those declared in the config file and the managed ones, in one set of maps
// the faces read without knowing where an entry came from. An id may live in only one of the two places; where a
// managed entry meets a declared one, the declared one is kept and the clash reported.

import type { Config, ResolvedApiKey, ResolvedApiUser, ResolvedClient, ResolvedOperator } from '../config/load.js';
import type { CredentialKind, CredentialRecord } from '../store/credentials.js';
import type { ManagedSet } from './managed-set.js';
import { dataOf, resolveClient, resolveKey, resolveOperator, resolveUser } from './records.js';

export interface MergedCredentials {
  config: Config;
  /** Managed entries whose id the config file also declares, as "kind id" problems for an operator. */
  collisions: string[];
  /** Managed records that could not be read (not in their kind's shape, an unreadable hash). */
  unreadable: { kind: CredentialKind; id: string }[];
}

export const GRID_OF_KIND: Record<CredentialKind, string> = { key: 'pcr.keys', user: 'pcr.users', client: 'oauth.clients', operator: 'operators' };

export function mergeManaged(config: Config, managed: ManagedSet): MergedCredentials {
  const collisions: string[] = [];
  const unreadable: MergedCredentials['unreadable'] = [];
  const each = <T>(kind: CredentialKind, declared: (id: string) => boolean, resolve: (record: CredentialRecord) => T | null, add: (id: string, value: T) => void) => {
    for (const record of managed.of(kind).values()) {
      if (declared(record.id)) {
        collisions.push(`${GRID_OF_KIND[kind]}: "${record.id}" is declared in the config file and also managed through the admin API; delete one of the two`);
        continue;
      }
      const value = resolvedOnce(record, resolve);
      if (value === null) unreadable.push({ kind, id: record.id });
      else add(record.id, value);
    }
  };

  const declaredKeys = new Set(config.apiKeys.map((k) => k.id));
  const apiKeys: ResolvedApiKey[] = [...config.apiKeys];
  each('key', (id) => declaredKeys.has(id), (r) => nullable(dataOf('key', r), (d) => resolveKey(r.id, d)), (_id, key) => apiKeys.push(key));
  const apiUsers = new Map<string, ResolvedApiUser>(config.apiUsers);
  each('user', (id) => config.apiUsers.has(id), (r) => nullable(dataOf('user', r), (d) => resolveUser(r.id, d)), (id, user) => apiUsers.set(id, user));
  const clients = new Map<string, ResolvedClient>(config.clients);
  each('client', (id) => config.clients.has(id), (r) => nullable(dataOf('client', r), (d) => resolveClient(r.id, d)), (id, client) => clients.set(id, client));
  const operators = new Map<string, ResolvedOperator>(config.operators);
  each('operator', (id) => config.operators.has(id), (r) => nullable(dataOf('operator', r), (d) => resolveOperator(r.id, d)), (id, operator) => operators.set(id, operator));

  return { config: { ...config, apiKeys, apiUsers, clients, operators }, collisions, unreadable };
}

/**
 * Each record object is checked and resolved once: a set keeps its records between rebuilds, so a thousand keys
 * created in a row do not parse the thousand already there again at every rebuild.
 */
const resolved = new WeakMap<CredentialRecord, unknown>();
function resolvedOnce<T>(record: CredentialRecord, resolve: (record: CredentialRecord) => T | null): T | null {
  if (resolved.has(record)) return resolved.get(record) as T | null;
  const value = resolve(record);
  resolved.set(record, value);
  return value;
}

const nullable = <T, U>(value: T | null, then: (value: T) => U | null): U | null => (value === null ? null : then(value));
