// The admin API of one managed grid: list, get, create (POST), update (PATCH) and delete, over the config file's
// entries (`source: config`, read-only here) and the managed ones (`source: managed`, versioned). Every change is
// written with its audit entry in one store step, logged, and served from the very next request on.

import type { Request, Response, Router } from 'express';
import type { CredentialData } from '../../credentials/records.js';
import { dataOf } from '../../credentials/records.js';
import { sendJson } from '../../respond/json.js';
import { sendPlainError } from '../../respond/errors.js';
import type { AuditInput, CredentialKind, CredentialRecord } from '../../store/credentials.js';
import type { GridContext } from '../grids/handler.js';
import type { GridDefinition, GridInput, ManagedContext, Problem } from './definition.js';
import { etagOf, ifMatchAllows } from './if-match.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function managedGridRoutes<K extends CredentialKind>(router: Router, grid: GridContext, context: ManagedContext, def: GridDefinition<K>): void {
  const base = `/admin/${def.grid}`;
  const managed = context.credentials;
  const store = managed.store;
  const declaredNow = () => def.declared(context.declared().parsed, grid.now());
  const gridInput = (): GridInput => {
    const declaredKeys = new Set(context.declared().apiKeys.map((k) => k.id));
    return { parsed: context.declared().parsed, keyExists: (id) => declaredKeys.has(id) || managed.current.get('key', id) !== undefined, now: grid.now() };
  };

  const managedView = (record: CredentialRecord, data: CredentialData[K]) => ({
    ...def.view(record.id, data, grid.now()),
    source: 'managed',
    version: record.version,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
  });
  const readable = (record: CredentialRecord): CredentialData[K] => {
    const data = dataOf(def.kind, record);
    // Written by this code through the same shapes; a record that does not fit was changed behind its back.
    if (data === null) throw new Error(`managed ${def.kind} "${record.id}" in the store does not have its expected shape`);
    return data;
  };
  const actor = (res: Response) => res.locals.admin?.name ?? 'unknown';
  const audit = (res: Response, action: AuditInput['action'], target: string, before: Record<string, unknown> | null, after: Record<string, unknown> | null, detail?: Record<string, unknown>): AuditInput => {
    return { at: grid.now(), actor: actor(res), action, grid: def.grid, target, before, after, ...(detail ? { detail } : {}) };
  };
  const logged = (entry: AuditInput) => grid.services.logger.info({ audit: entry }, `admin ${entry.action} of ${def.noun} "${entry.target}"`);
  const invalid = (res: Response, problems: Problem[]) =>
    sendJson(res, 400, { error: 'invalid_request', error_description: `${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems });
  const stale = (res: Response, current: CredentialRecord) =>
    sendJson(res, 412, { error: 'version_mismatch', error_description: `the ${def.noun} was changed since it was read (now at version ${current.version}); reload it and apply the change again`, version: current.version }, { etag: etagOf(current.version) });
  const readOnly = (res: Response, id: string) =>
    sendPlainError(res, 409, 'declared_in_config', `the ${def.noun} "${id}" is declared in the config file (${context.declared().source}): change it there and reload`);
  const body = (req: Request): Record<string, unknown> | null =>
    req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : null;

  router.get(
    base,
    grid.route(async (_req, res) => {
      const now = grid.now();
      const counts = def.live ? await def.live.count(grid.services.store, now) : null;
      const withCount = (id: string, view: Record<string, unknown>) => (counts && def.live ? { ...view, [def.live.field]: counts.get(id) ?? 0 } : view);
      const rows: Record<string, unknown>[] = [];
      for (const [id, view] of declaredNow()) rows.push(withCount(id, { ...view, source: 'config', version: null }));
      for (const record of await store.list()) {
        if (record.kind !== def.kind) continue;
        const data = dataOf(def.kind, record);
        if (data !== null) rows.push(withCount(record.id, managedView(record, data)));
      }
      rows.sort((a, b) => String(a[def.idField]).localeCompare(String(b[def.idField])));
      res.json({ [def.grid]: rows });
    }),
  );

  router.get(
    `${base}/:id`,
    grid.route(async (req, res) => {
      const id = String(req.params['id']);
      const declared = declaredNow().get(id);
      const live = async () => (def.live ? { [def.live.field]: (await def.live.count(grid.services.store, grid.now())).get(id) ?? 0 } : {});
      if (declared !== undefined) return void res.json({ ...declared, source: 'config', version: null, ...(await live()) });
      const record = await store.get(def.kind, id);
      if (record === null) return sendPlainError(res, 404, 'not_found', `no such ${def.noun}`);
      res.set('etag', etagOf(record.version)).json({ ...managedView(record, readable(record)), ...(await live()) });
    }),
  );

  router.post(
    base,
    grid.route(async (req, res) => {
      const input = body(req);
      if (input === null) return invalid(res, [{ path: '(top level)', message: `expected a JSON object with the ${def.noun}'s fields` }]);
      const created = await def.create(input, gridInput());
      const id = typeof input[def.idField] === 'string' ? (input[def.idField] as string) : null;
      const taken: Problem[] = [];
      if (id !== null && declaredNow().has(id)) taken.push({ path: def.idField, message: `an ${def.noun} with this ${def.idField} is declared in the config file` });
      else if (id !== null && (await store.get(def.kind, id)) !== null) taken.push({ path: def.idField, message: `an ${def.noun} with this ${def.idField} already exists` });
      if (!created.ok || taken.length > 0) return invalid(res, [...(created.ok ? [] : created.problems), ...taken]);
      const { value } = created;
      const after = def.view(value.id, value.data, grid.now());
      const entry = audit(res, 'create', value.id, null, after);
      const written = await store.put(def.kind, value.id, value.data, null, grid.now(), entry);
      if (!written.ok) return invalid(res, [{ path: def.idField, message: `an ${def.noun} with this ${def.idField} already exists` }]);
      managed.applied(written.record);
      logged(entry);
      res
        .status(201)
        .set({ etag: etagOf(written.record.version), location: `${base}/${encodeURIComponent(value.id)}` })
        .json({ ...managedView(written.record, value.data), ...value.shown });
    }),
  );

  router.patch(
    `${base}/:id`,
    grid.route(async (req, res) => {
      const id = String(req.params['id']);
      if (declaredNow().has(id)) return readOnly(res, id);
      const input = body(req);
      if (input === null) return invalid(res, [{ path: '(top level)', message: 'expected a JSON object with the fields to change' }]);
      const current = await store.get(def.kind, id);
      if (current === null) return sendPlainError(res, 404, 'not_found', `no such ${def.noun}`);
      if (!ifMatchAllows(req.get('if-match'), current.version)) return stale(res, current);
      const before = readable(current);
      const updated = await def.update(input, before, gridInput());
      if (!updated.ok) return invalid(res, updated.problems);
      const after = def.view(id, updated.value, grid.now());
      const entry = audit(res, 'update', id, def.view(id, before, grid.now()), after);
      const written = await store.put(def.kind, id, updated.value, current.version, grid.now(), entry);
      if (!written.ok) return written.current === null ? sendPlainError(res, 404, 'not_found', `no such ${def.noun}`) : stale(res, written.current);
      managed.applied(written.record);
      logged(entry);
      res.set('etag', etagOf(written.record.version)).json(managedView(written.record, updated.value));
    }),
  );

  router.delete(
    `${base}/:id`,
    grid.route(async (req, res) => {
      const id = String(req.params['id']);
      if (declaredNow().has(id)) return readOnly(res, id);
      const current = await store.get(def.kind, id);
      if (current === null) return sendPlainError(res, 404, 'not_found', `no such ${def.noun}`);
      if (!ifMatchAllows(req.get('if-match'), current.version)) return stale(res, current);
      const force = req.query['force'] === 'true';
      if (def.guardsDelete && def.live && !force) {
        const inUse = (await def.live.count(grid.services.store, grid.now())).get(id) ?? 0;
        if (inUse > 0) {
          return sendJson(res, 409, { error: 'in_use', error_description: `the ${def.noun} has ${inUse} live session${inUse === 1 ? '' : 's'}; delete with ?force=true to end them`, [def.live.field]: inUse });
        }
      }
      const before = def.view(id, readable(current), grid.now());
      const entry = audit(res, 'delete', id, before, null, force ? { force: true } : undefined);
      const removed = await store.remove(def.kind, id, current.version, entry);
      if (!removed.ok) return removed.current === null ? sendPlainError(res, 404, 'not_found', `no such ${def.noun}`) : stale(res, removed.current);
      managed.removed(def.kind, id);
      logged(entry);
      // The record is gone first, so nothing new can start with it while its sessions and grants are ended.
      const ended = await def.end(grid.services.store, id, grid.now());
      if (Object.values(ended).some((n) => n > 0)) {
        const revoked = audit(res, 'revoke', id, null, null, ended);
        await store.appendAudit(revoked);
        logged(revoked);
      }
      res.json({ deleted: id, ...ended });
    }),
  );
}
