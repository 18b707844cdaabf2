// The console's API Keys page (/console/keys): the vendor's API Keys grid with Read and Write per section, saved
// row by row, and the Add, Edit and Delete pages. Every change goes through the same grid service as the JSON
// admin API, so it is validated, versioned (the form's hidden version is the If-Match) and audited alike.

import type { Request, Response } from 'express';
import type { GridAnswer } from '../../managed/service.js';
import type { ConsoleContext, ConsolePage } from '../context.js';
import { canManage, sessionOf } from '../context.js';
import { FieldErrors, values } from '../forms.js';
import { gridState, listQuery } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';
import { notice, sendPage } from '../layout.js';
import {
  currentRecord,
  declaredInConfigPage,
  errorOf,
  formOf,
  gridNews,
  idParam,
  ifMatchOf,
  liveOf,
  notFoundPage,
  problemsOf,
  readOnlyPage,
  type RecordLookup,
  recordToChange,
  refusal,
  sendDeleteConfirm,
  sendSecret,
  sessionsEndedOf,
  sessionsText,
  stateQuery,
} from './common.js';
import { emptyKey, keyBody, keyErrors, keyForm, type KeyFormValues, keyValuesOfBody, keyValuesOfRow } from './keys-form.js';
import { KEYS_BASE, keysGrid } from './keys-grid.js';

const CURRENT = 'keys';
const keyPath = (id: string) => `${KEYS_BASE}/${encodeURIComponent(id)}`;
const pcrOf = (context: ConsoleContext) => context.admin.declared().parsed.pcr;

async function showGrid(req: Request, res: Response, context: ConsoleContext, options: { status?: number; problem?: SafeHtml } = {}): Promise<void> {
  const state = gridState(req, 'id');
  const { rows, total } = await context.grids.keys.list(listQuery(state));
  const pcr = pcrOf(context);
  sendPage(res, {
    title: 'API Keys',
    current: CURRENT,
    session: sessionOf(res),
    status: options.status ?? 200,
    body: html`${options.problem ?? gridNews(req)}
${pcr === undefined ? notice('warning', 'The PCR-360 face is off (the config file has no "pcr" section): keys can be listed but not added.') : ''}
${keysGrid({ rows, total, state, sections: pcr?.sections ?? [], session: sessionOf(res), manage: canManage(res) })}`,
  });
}

function showForm(req: Request, res: Response, context: ConsoleContext, o: { mode: 'create' | 'edit'; values: KeyFormValues; errors?: FieldErrors; version?: unknown; status?: number; problem?: SafeHtml }): void {
  const state = gridState(req, 'id');
  const back = `${KEYS_BASE}${stateQuery(state)}`;
  const action = o.mode === 'create' ? `${KEYS_BASE}${stateQuery(state)}` : `${keyPath(o.values.id)}${stateQuery(state)}`;
  const pcr = pcrOf(context);
  sendPage(res, {
    title: o.mode === 'create' ? 'Add an API key' : `Edit API key ${o.values.id}`,
    current: CURRENT,
    session: sessionOf(res),
    status: o.status ?? 200,
    body: keyForm({
      mode: o.mode,
      values: o.values,
      errors: o.errors ?? new FieldErrors(),
      sections: pcr?.sections ?? [],
      defaults: pcr?.sessions,
      action,
      back,
      session: sessionOf(res),
      version: o.version,
      ...(o.problem ? { problem: o.problem } : {}),
    }),
  });
}

/** A key of the config file: say so instead of drawing a form that could only be refused. */
function unchangeable(res: Response, row: Record<string, unknown>, back: string): boolean {
  if (row['source'] !== 'config') return false;
  declaredInConfigPage(res, { title: `API key ${String(row['id'])}`, current: CURRENT, noun: 'key', id: String(row['id']), back, backLabel: 'Back to the API keys' });
  return true;
}
const declaredInConfig = (answer: GridAnswer) => errorOf(answer) === 'declared_in_config';

export const keysPage: ConsolePage = (router, context) => {
  const keys = context.grids.keys;

  router.get('/keys', (req, res) => showGrid(req, res, context));

  router.get('/keys/new', (req, res) => {
    if (!canManage(res)) return readOnlyPage(res, CURRENT);
    showForm(req, res, context, { mode: 'create', values: emptyKey() });
  });

  router.post('/keys', async (req, res) => {
    const typed = keyValuesOfBody(formOf(req));
    const answer = await keys.create(keyBody(typed, 'create'), sessionOf(res).name);
    if (answer.status === 201) {
      const key = typeof answer.body['key'] === 'string' ? answer.body['key'] : '';
      return sendSecret(res, {
        title: `API key ${typed.id} added`,
        current: CURRENT,
        news: `Added the API key ${typed.id}.`,
        label: 'API key',
        what: 'key',
        inputId: 'new-key',
        secret: key,
        back: `${KEYS_BASE}${stateQuery(gridState(req, 'id'))}`,
        backLabel: 'Back to the API keys',
      });
    }
    const problems = problemsOf(answer);
    showForm(req, res, context, { mode: 'create', values: typed, errors: keyErrors(problems), status: answer.status, ...(problems.length === 0 ? { problem: notice('error', String(answer.body['error_description'] ?? 'The key was not added.')) } : {}) });
  });

  const keyLookup = (req: Request, res: Response): RecordLookup => {
    const back = `${KEYS_BASE}${stateQuery(gridState(req, 'id'))}`;
    return { current: CURRENT, noun: 'API key', id: idParam(req), back, get: (id) => keys.get(id), unchangeable: (row) => unchangeable(res, row, back) };
  };
  const keyToChange = (req: Request, res: Response) => recordToChange(res, keyLookup(req, res));

  router.get('/keys/:id/edit', async (req, res) => {
    const row = await keyToChange(req, res);
    if (row !== null) showForm(req, res, context, { mode: 'edit', values: keyValuesOfRow(row), version: row['version'] });
  });

  router.post('/keys/:id', async (req, res) => {
    const id = idParam(req);
    const body = formOf(req);
    const typed = { ...keyValuesOfBody(body), id };
    const answer = await keys.update(id, keyBody(typed, 'edit'), ifMatchOf(body), sessionOf(res).name);
    const state = gridState(req, 'id');
    if (answer.status === 200) return res.redirect(303, `${KEYS_BASE}${stateQuery(state, { saved: id })}`);
    if (answer.status === 404) return notFoundPage(res, CURRENT, 'API key', id, `${KEYS_BASE}${stateQuery(state)}`);
    if (declaredInConfig(answer) && unchangeable(res, { id, source: 'config' }, `${KEYS_BASE}${stateQuery(state)}`)) return;
    const problems = problemsOf(answer);
    // What was typed stays, and so does the version it was typed against: saving again must not overwrite blindly.
    showForm(req, res, context, {
      mode: 'edit',
      values: typed,
      errors: keyErrors(problems),
      version: body['version'],
      status: answer.status,
      ...(problems.length === 0 ? { problem: refusal(answer, 'key', id, `${keyPath(id)}/edit${stateQuery(state)}`) } : {}),
    });
  });

  router.post('/keys/:id/permissions', async (req, res) => {
    const id = idParam(req);
    const body = formOf(req);
    const answer = await keys.update(id, { read: values(body, 'read'), write: values(body, 'write') }, ifMatchOf(body), sessionOf(res).name);
    const state = gridState(req, 'id');
    if (answer.status === 200) return res.redirect(303, `${KEYS_BASE}${stateQuery(state, { saved: id })}`);
    const problems = problemsOf(answer);
    const problem =
      problems.length > 0
        ? notice('error', html`The permissions of ${id} were not saved:<ul>${problems.map((p) => html`<li>${p.path}: ${p.message}</li>`)}</ul>`)
        : errorOf(answer) === 'version_mismatch'
          ? notice('error', html`Someone else changed the key ${id} since you opened this page, so nothing was saved. The grid now shows its current permissions: apply your change again.`)
          : refusal(answer, 'key', id, `${KEYS_BASE}${stateQuery(state)}`);
    await showGrid(req, res, context, { status: answer.status, problem });
  });

  router.get('/keys/:id/delete', async (req, res) => {
    const row = await keyToChange(req, res);
    if (row !== null) confirmDelete(req, res, idParam(req), row);
  });

  router.post('/keys/:id/delete', async (req, res) => {
    const id = idParam(req);
    const body = formOf(req);
    const state = gridState(req, 'id');
    const answer = await keys.remove(id, { force: body['force'] === 'true', ifMatch: ifMatchOf(body) }, sessionOf(res).name);
    if (answer.status === 200) return res.redirect(303, `${KEYS_BASE}${stateQuery(state, { deleted: id, ended: String(sessionsEndedOf(answer.body)) })}`);
    const current = await currentRecord(res, keyLookup(req, res));
    if (current === null) return;
    // Sessions started or the key changed since the confirmation was drawn: ask again with what is true now.
    const problem =
      errorOf(answer) === 'in_use'
        ? notice('warning', html`The key now has ${sessionsText(liveOf(answer.body))}; nothing was deleted. Confirm again to end them.`)
        : errorOf(answer) === 'version_mismatch'
          ? notice('error', 'Someone else changed this key since you opened it, so nothing was deleted. This page now shows it as it is: confirm again to delete it.')
          : refusal(answer, 'key', id, `${keyPath(id)}/delete${stateQuery(state)}`);
    confirmDelete(req, res, id, current, { problem, status: answer.status });
  });
};

function confirmDelete(req: Request, res: Response, id: string, row: Record<string, unknown>, extra: { problem?: SafeHtml; status?: number } = {}): void {
  const query = stateQuery(gridState(req, 'id'));
  sendDeleteConfirm(res, {
    title: `Delete API key ${id}`,
    current: CURRENT,
    noun: 'API key',
    id,
    live: liveOf(row),
    version: row['version'],
    action: `${keyPath(id)}/delete${query}`,
    back: `${KEYS_BASE}${query}`,
    ...extra,
  });
}
