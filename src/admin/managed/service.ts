// One managed grid's operations, answered as status + body whatever asks: the JSON admin API and the console
// both go through here, so they validate, version, audit and apply a change the same way. Every change is
// written with its audit entry in one store step, logged, and served from the very next request on.

import type { Clock } from '../../clock.js';
import type { Logger } from '../../log/logger.js';
import { dataOf, type CredentialData } from '../../credentials/records.js';
import type { AuditInput, CredentialKind, CredentialRecord } from '../../store/credentials.js';
import type { Store } from '../../store/store.js';
import type { GridDefinition, GridInput, ManagedContext, Problem } from './definition.js';
import { etagOf, ifMatchAllows } from './if-match.js';
import { pageOf, type ListQuery } from './list-query.js';

export interface GridAnswer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface GridServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class ManagedGridService<K extends CredentialKind = CredentialKind> {
  constructor(
    readonly def: GridDefinition<K>,
    private readonly context: ManagedContext,
    private readonly deps: GridServiceDeps,
  ) {}

  /** Every row, config entries first in id order then managed ones, filtered, sorted and paged as asked. */
  async list(query: ListQuery = {}): Promise<{ rows: Record<string, unknown>[]; total: number }> {
    const { def } = this;
    const now = this.#now();
    const counts = def.live ? await def.live.count(this.deps.store, now) : null;
    const withCount = (id: string, view: Record<string, unknown>) => (counts && def.live ? { ...view, [def.live.field]: counts.get(id) ?? 0 } : view);
    const rows: Record<string, unknown>[] = [];
    for (const [id, view] of this.#declared()) rows.push(withCount(id, { ...view, source: 'config', version: null }));
    for (const record of await this.#store.list()) {
      if (record.kind !== def.kind) continue;
      const data = dataOf(def.kind, record);
      if (data !== null) rows.push(withCount(record.id, this.#managedView(record, data)));
    }
    return pageOf(rows, def.idField, query, def.sortKeys);
  }

  async get(id: string): Promise<GridAnswer> {
    const { def } = this;
    const live = async () => (def.live ? { [def.live.field]: (await def.live.count(this.deps.store, this.#now())).get(id) ?? 0 } : {});
    const declared = this.#declared().get(id);
    if (declared !== undefined) return { status: 200, body: { ...declared, source: 'config', version: null, ...(await live()) } };
    const record = await this.#store.get(def.kind, id);
    if (record === null) return this.#notFound();
    return { status: 200, body: { ...this.#managedView(record, this.#readable(record)), ...(await live()) }, headers: { etag: etagOf(record.version) } };
  }

  async create(body: unknown, actor: string): Promise<GridAnswer> {
    const { def } = this;
    const input = objectOf(body);
    if (input === null) return invalid([{ path: '(top level)', message: `expected a JSON object with the ${def.noun}'s fields` }]);
    const created = await def.create(input, this.#input());
    const id = typeof input[def.idField] === 'string' ? (input[def.idField] as string) : null;
    const taken: Problem[] = [];
    if (id !== null && this.#declared().has(id)) taken.push({ path: def.idField, message: `an ${def.noun} with this ${def.idField} is declared in the config file` });
    else if (id !== null && (await this.#store.get(def.kind, id)) !== null) taken.push(this.#exists());
    if (!created.ok || taken.length > 0) return invalid([...(created.ok ? [] : created.problems), ...taken]);
    const { value } = created;
    const entry = this.#audit(actor, 'create', value.id, null, def.view(value.id, value.data, this.#now()));
    const written = await this.#store.put(def.kind, value.id, value.data, null, this.#now(), entry);
    if (!written.ok) return invalid([this.#exists()]);
    this.context.credentials.applied(written.record);
    this.#log(entry);
    return {
      status: 201,
      body: { ...this.#managedView(written.record, value.data), ...value.shown },
      headers: { etag: etagOf(written.record.version), location: `/admin/${def.grid}/${encodeURIComponent(value.id)}` },
    };
  }

  async update(id: string, body: unknown, ifMatch: string | undefined, actor: string): Promise<GridAnswer> {
    const { def } = this;
    if (this.#declared().has(id)) return this.#readOnly(id);
    const input = objectOf(body);
    if (input === null) return invalid([{ path: '(top level)', message: 'expected a JSON object with the fields to change' }]);
    const current = await this.#store.get(def.kind, id);
    if (current === null) return this.#notFound();
    if (!ifMatchAllows(ifMatch, current.version)) return this.#stale(current);
    const before = this.#readable(current);
    const updated = await def.update(input, before, this.#input());
    if (!updated.ok) return invalid(updated.problems);
    const now = this.#now();
    const entry = this.#audit(actor, 'update', id, def.view(id, before, now), def.view(id, updated.value, now));
    const written = await this.#store.put(def.kind, id, updated.value, current.version, now, entry);
    if (!written.ok) return written.current === null ? this.#notFound() : this.#stale(written.current);
    this.context.credentials.applied(written.record);
    this.#log(entry);
    return { status: 200, body: this.#managedView(written.record, updated.value), headers: { etag: etagOf(written.record.version) } };
  }

  async remove(id: string, options: { force: boolean; ifMatch: string | undefined }, actor: string): Promise<GridAnswer> {
    const { def } = this;
    if (this.#declared().has(id)) return this.#readOnly(id);
    const current = await this.#store.get(def.kind, id);
    if (current === null) return this.#notFound();
    if (!ifMatchAllows(options.ifMatch, current.version)) return this.#stale(current);
    if (def.guardsDelete && def.live && !options.force) {
      const inUse = (await def.live.count(this.deps.store, this.#now())).get(id) ?? 0;
      if (inUse > 0) {
        const description = `the ${def.noun} has ${inUse} live session${inUse === 1 ? '' : 's'}; delete with ?force=true to end them`;
        return { status: 409, body: { error: 'in_use', error_description: description, [def.live.field]: inUse } };
      }
    }
    const entry = this.#audit(actor, 'delete', id, def.view(id, this.#readable(current), this.#now()), null, options.force ? { force: true } : undefined);
    const removed = await this.#store.remove(def.kind, id, current.version, entry);
    if (!removed.ok) return removed.current === null ? this.#notFound() : this.#stale(removed.current);
    this.context.credentials.removed(def.kind, id);
    this.#log(entry);
    // The record is gone first, so nothing new can start with it while its sessions and grants are ended.
    const ended = await def.end(this.deps.store, id, this.#now());
    if (Object.values(ended).some((n) => n > 0)) {
      const revoked = this.#audit(actor, 'revoke', id, null, null, ended);
      await this.#store.appendAudit(revoked);
      this.#log(revoked);
    }
    return { status: 200, body: { deleted: id, ...ended } };
  }

  get #store() {
    return this.context.credentials.store;
  }

  #now(): number {
    return this.deps.clock.now();
  }

  #declared(): Map<string, Record<string, unknown>> {
    return this.def.declared(this.context.declared().parsed, this.#now());
  }

  #input(): GridInput {
    const declaredKeys = new Set(this.context.declared().apiKeys.map((k) => k.id));
    const managed = this.context.credentials.current;
    return { parsed: this.context.declared().parsed, keyExists: (id) => declaredKeys.has(id) || managed.get('key', id) !== undefined, now: this.#now() };
  }

  #managedView(record: CredentialRecord, data: CredentialData[K]): Record<string, unknown> {
    return { ...this.def.view(record.id, data, this.#now()), source: 'managed', version: record.version, createdAt: iso(record.createdAt), updatedAt: iso(record.updatedAt) };
  }

  #readable(record: CredentialRecord): CredentialData[K] {
    const data = dataOf(this.def.kind, record);
    // Written by this code through the same shapes; a record that does not fit was changed behind its back.
    if (data === null) throw new Error(`managed ${this.def.kind} "${record.id}" in the store does not have its expected shape`);
    return data;
  }

  #audit(actor: string, action: AuditInput['action'], target: string, before: Record<string, unknown> | null, after: Record<string, unknown> | null, detail?: Record<string, unknown>): AuditInput {
    return { at: this.#now(), actor, action, grid: this.def.grid, target, before, after, ...(detail ? { detail } : {}) };
  }

  #log(entry: AuditInput): void {
    this.deps.logger.info({ audit: entry }, `admin ${entry.action} of ${this.def.noun} "${entry.target}"`);
  }

  #exists(): Problem {
    return { path: this.def.idField, message: `an ${this.def.noun} with this ${this.def.idField} already exists` };
  }

  #notFound(): GridAnswer {
    return { status: 404, body: { error: 'not_found', error_description: `no such ${this.def.noun}` } };
  }

  #readOnly(id: string): GridAnswer {
    const description = `the ${this.def.noun} "${id}" is declared in the config file (${this.context.declared().source}): change it there and reload`;
    return { status: 409, body: { error: 'declared_in_config', error_description: description } };
  }

  #stale(current: CredentialRecord): GridAnswer {
    const description = `the ${this.def.noun} was changed since it was read (now at version ${current.version}); reload it and apply the change again`;
    return { status: 412, body: { error: 'version_mismatch', error_description: description, version: current.version }, headers: { etag: etagOf(current.version) } };
  }
}

function objectOf(body: unknown): Record<string, unknown> | null {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
}

function invalid(problems: Problem[]): GridAnswer {
  const description = `${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`;
  return { status: 400, body: { error: 'invalid_request', error_description: description, problems } };
}
