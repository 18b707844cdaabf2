// What one managed grid (API keys, API users, API access, operators) tells the generic admin handlers: how a
// request body becomes a stored record (validated with the config file's own field rules, secrets hashed), how a
// record is shown (never a secret), which entries the config file declares, and what deleting one ends.

import type { Config } from '../../config/load.js';
import type { ParsedConfig } from '../../config/schema.js';
import type { ManagedCredentials } from '../../credentials/managed-credentials.js';
import type { CredentialData } from '../../credentials/records.js';
import type { CredentialKind } from '../../store/credentials.js';
import type { KeyRing } from '../../tokens/keyring.js';
import type { SortKeys } from './list-query.js';
import type { Store } from '../../store/store.js';

/** One problem with a request body: where (in the config file's notation, e.g. `read[0]`) and what. */
export interface Problem {
  path: string;
  message: string;
}

/** What the managed grids work with: the store's records as this process knows them, and the config file. */
export interface ManagedContext {
  credentials: ManagedCredentials;
  /** The config file's part of what is served, without the managed entries. */
  declared(): Config;
  /** The signing keys in use. Read without rebuilding a runtime a managed change made stale. */
  keys(): KeyRing;
}

/**
 * What validation sees: the config file's settings (sections...) and which API key ids exist, declared or managed.
 * Read without building a runtime, so creating ten thousand keys in a row costs no rebuild per key.
 */
export interface GridInput {
  parsed: ParsedConfig;
  keyExists(id: string): boolean;
  now: number;
}

export interface Created<D> {
  id: string;
  data: D;
  /** Secrets generated for this record, returned in the creation answer and never again. */
  shown: Record<string, string>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

export interface GridDefinition<K extends CredentialKind = CredentialKind> {
  kind: K;
  /** The path segment and the listing's field: keys, users, clients, operators. */
  grid: string;
  /** The field that names a record in the API and the config file. */
  idField: 'id' | 'login';
  /** For messages: "API key", "API user"... */
  noun: string;
  /** The entries the config file declares, already shown as the API shows them, by id. */
  declared(parsed: ParsedConfig, now: number): Map<string, Record<string, unknown>>;
  create(body: Record<string, unknown>, input: GridInput): Promise<Outcome<Created<CredentialData[K]>>>;
  update(body: Record<string, unknown>, current: CredentialData[K], input: GridInput): Promise<Outcome<CredentialData[K]>>;
  /** The record as the API shows it: fields named as in the config file, no secret or hash. */
  view(id: string, data: CredentialData[K], now: number): Record<string, unknown>;
  /** Live sessions (keys, users) or grants (clients, operators) by record id, shown beside each record. */
  live?: { field: string; count(store: Store, now: number): Promise<Map<string, number>> };
  /** Ends what the record's deletion ends (sessions, grants) on every process; the count per kind. */
  end(store: Store, id: string, now: number): Promise<Record<string, number>>;
  /** Columns that sort on something other than their shown value (see `pageOf`). */
  sortKeys?: SortKeys;
  /** A delete that would end this many live sessions needs `?force=true`: the vendor warns the key may be in use. */
  guardsDelete?: boolean;
}
