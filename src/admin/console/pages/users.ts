// The console's API Users page (/console/users): the grid, Add (a password left empty is generated and shown
// once), Edit of the session expiration date only, and Delete, which ends the user's sessions. Changes go
// through the same grid service as the JSON admin API, with the form's hidden version as the If-Match.

import type { Request, Response } from 'express';
import type { ConsoleContext, ConsolePage } from '../context.js';
import { canManage, sessionOf } from '../context.js';
import { FieldErrors, listOf, value } from '../forms.js';
import { gridState, listQuery } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';
import { notice, sendPage } from '../layout.js';
import {
  currentRecord,
  declaredInConfigPage,
  endFieldValue,
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
  stateQuery,
} from './common.js';
import { userErrors, userForm, type UserFormValues, userPath, USERS_BASE, usersGrid } from './users-views.js';

const CURRENT = 'users';
const gridHref = (req: Request, extra: Record<string, string> = {}) => `${USERS_BASE}${stateQuery(gridState(req, 'login'), extra)}`;
const keysText = (row: Record<string, unknown>) => (Array.isArray(row['keys']) ? (row['keys'] as unknown[]).join(', ') : '');

function showForm(req: Request, res: Response, o: { mode: 'create' | 'edit'; values: UserFormValues; errors?: FieldErrors; version?: unknown; status?: number; problem?: SafeHtml }): void {
  const query = stateQuery(gridState(req, 'login'));
  sendPage(res, {
    title: o.mode === 'create' ? 'Add an API user' : `Edit API user ${o.values.login}`,
    current: CURRENT,
    session: sessionOf(res),
    status: o.status ?? 200,
    body: userForm({
      mode: o.mode,
      values: o.values,
      errors: o.errors ?? new FieldErrors(),
      action: o.mode === 'create' ? `${USERS_BASE}${query}` : `${userPath(o.values.login)}${query}`,
      back: `${USERS_BASE}${query}`,
      session: sessionOf(res),
      version: o.version,
      ...(o.problem ? { problem: o.problem } : {}),
    }),
  });
}

/** A user of the config file: say so instead of drawing a form or a confirmation that could only be refused. */
function unchangeable(req: Request, res: Response, row: Record<string, unknown>): boolean {
  if (row['source'] !== 'config') return false;
  declaredInConfigPage(res, { title: `API user ${String(row['login'])}`, current: CURRENT, noun: 'user', id: String(row['login']), back: gridHref(req), backLabel: 'Back to the API users' });
  return true;
}

function confirmDelete(req: Request, res: Response, login: string, row: Record<string, unknown>, extra: { problem?: SafeHtml; status?: number } = {}): void {
  sendDeleteConfirm(res, {
    title: `Delete API user ${login}`,
    current: CURRENT,
    noun: 'API user',
    id: login,
    live: liveOf(row),
    version: row['version'],
    action: `${userPath(login)}/delete${stateQuery(gridState(req, 'login'))}`,
    back: gridHref(req),
    ...extra,
  });
}

export const usersPage: ConsolePage = (router, context: ConsoleContext) => {
  const users = context.grids.users;

  router.get('/users', async (req, res) => {
    const state = gridState(req, 'login');
    const { rows, total } = await users.list(listQuery(state));
    sendPage(res, { title: 'API Users', current: CURRENT, session: sessionOf(res), body: html`${gridNews(req)}${usersGrid({ rows, total, state, manage: canManage(res) })}` });
  });

  router.get('/users/new', (req, res) => {
    if (!canManage(res)) return readOnlyPage(res, CURRENT);
    showForm(req, res, { mode: 'create', values: { login: '', keys: '', passwordTyped: false, sessionExpiresAt: '' } });
  });

  router.post('/users', async (req, res) => {
    const body = formOf(req);
    const typed: UserFormValues = { login: value(body, 'login').trim(), keys: value(body, 'keys'), passwordTyped: value(body, 'password') !== '', sessionExpiresAt: value(body, 'sessionExpiresAt').trim() };
    const password = value(body, 'password');
    const answer = await users.create(
      { login: typed.login, keys: listOf(typed.keys), ...(password ? { password } : {}), ...(typed.sessionExpiresAt ? { sessionExpiresAt: typed.sessionExpiresAt } : {}) },
      sessionOf(res).name,
    );
    if (answer.status === 201) {
      // Only a generated password comes back; one the admin chose is never shown again, not even now.
      if (typeof answer.body['password'] !== 'string') return res.redirect(303, gridHref(req, { added: typed.login }));
      return sendSecret(res, {
        title: `API user ${typed.login} added`,
        current: CURRENT,
        news: `Added the API user ${typed.login} with a generated password.`,
        label: 'Password',
        what: 'password',
        inputId: 'new-password',
        secret: answer.body['password'],
        back: gridHref(req),
        backLabel: 'Back to the API users',
      });
    }
    const problems = problemsOf(answer);
    showForm(req, res, { mode: 'create', values: typed, errors: userErrors(problems), status: answer.status, ...(problems.length === 0 ? { problem: notice('error', String(answer.body['error_description'] ?? 'The user was not added.')) } : {}) });
  });

  const userLookup = (req: Request, res: Response): RecordLookup => ({ current: CURRENT, noun: 'API user', id: idParam(req), back: gridHref(req), get: (login) => users.get(login), unchangeable: (row) => unchangeable(req, res, row) });
  const userToChange = (req: Request, res: Response) => recordToChange(res, userLookup(req, res));

  router.get('/users/:id/edit', async (req, res) => {
    const row = await userToChange(req, res);
    if (row !== null) showForm(req, res, { mode: 'edit', values: { login: idParam(req), keys: keysText(row), passwordTyped: false, sessionExpiresAt: endFieldValue(row['sessionExpiresAt']) }, version: row['version'] });
  });

  router.post('/users/:id', async (req, res) => {
    const login = idParam(req);
    const body = formOf(req);
    const date = value(body, 'sessionExpiresAt').trim();
    const answer = await users.update(login, { sessionExpiresAt: date === '' ? null : date }, ifMatchOf(body), sessionOf(res).name);
    if (answer.status === 200) return res.redirect(303, gridHref(req, { saved: login }));
    if (answer.status === 404) return notFoundPage(res, CURRENT, 'API user', login, gridHref(req));
    if (errorOf(answer) === 'declared_in_config' && unchangeable(req, res, { login, source: 'config' })) return;
    // The keys are shown for reference only; read them again so the page stays right whatever was posted.
    const current = await users.get(login);
    const problems = problemsOf(answer);
    showForm(req, res, {
      mode: 'edit',
      values: { login, keys: current.status === 200 ? keysText(current.body) : '', passwordTyped: false, sessionExpiresAt: date },
      errors: userErrors(problems),
      version: body['version'],
      status: answer.status,
      ...(problems.length === 0 ? { problem: refusal(answer, 'user', login, `${userPath(login)}/edit${stateQuery(gridState(req, 'login'))}`) } : {}),
    });
  });

  router.get('/users/:id/delete', async (req, res) => {
    const row = await userToChange(req, res);
    if (row !== null) confirmDelete(req, res, idParam(req), row);
  });

  router.post('/users/:id/delete', async (req, res) => {
    const login = idParam(req);
    const body = formOf(req);
    const answer = await users.remove(login, { force: body['force'] === 'true', ifMatch: ifMatchOf(body) }, sessionOf(res).name);
    if (answer.status === 200) return res.redirect(303, gridHref(req, { deleted: login, ended: String(sessionsEndedOf(answer.body)) }));
    const current = await currentRecord(res, userLookup(req, res));
    if (current === null) return;
    const problem =
      errorOf(answer) === 'version_mismatch'
        ? notice('error', 'Someone else changed this user since you opened it, so nothing was deleted. This page now shows it as it is: confirm again to delete it.')
        : refusal(answer, 'user', login, `${userPath(login)}/delete${stateQuery(gridState(req, 'login'))}`);
    confirmDelete(req, res, login, current, { problem, status: answer.status });
  });
};
