// The console's Operators page: the grid of operators who may log in through the public API, and the add, edit
// and delete pages around it. Every change goes through the same grid service as the JSON admin API, so it is
// validated, versioned and audited alike; this file only turns forms into API bodies and answers into pages.
// Config file entries and read sessions are shown without any control that would change them.

import type { Request, Response } from 'express';
import type { GridAnswer } from '../../managed/service.js';
import { canManage, sessionOf, type ConsoleContext, type ConsolePage } from '../context.js';
import type { Problem } from '../forms.js';
import { filterForm, gridState, header, listQuery, pager, type GridState } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, notice, sendPage } from '../layout.js';
import { shownOnce } from './clients-form.js';
import { formOf, grantChangeNews, plural, postedVersion, problemsOf, recordActions, staleNotice } from './common.js';
import { NEW_OPERATOR, operatorBody, operatorDetails, operatorErrors, operatorForm, operatorPath, OPERATORS_BASE, typedFromBody, typedFromView, type OperatorTyped } from './operators-form.js';

const TITLE = 'Operators';
const page = (res: Response, title: string, content: SafeHtml, status = 200) => sendPage(res, { title, current: 'operators', session: sessionOf(res), status, body: content });
const described = (answer: GridAnswer) => String(answer.body['error_description'] ?? answer.body['error'] ?? `the admin API answered ${answer.status}`);
const listText = (v: unknown) => (Array.isArray(v) && v.length > 0 ? v.map(String).join(', ') : '—');
const back = html`<p><a href="${OPERATORS_BASE}">Back to Operators</a></p>`;
const missing = (login: string) => html`${notice('error', `There is no operator "${login}"; it may have been deleted.`)}${back}`;

const rowsFor = (context: ConsoleContext, state: GridState) => context.grids.operators.list(listQuery(state));

async function grid(req: Request, res: Response, context: ConsoleContext): Promise<void> {
  const state = gridState(req, 'login');
  const { rows, total } = await rowsFor(context, state);
  const manage = canManage(res);
  const th = (label: string, field?: string) => header(OPERATORS_BASE, state, field === undefined ? { label } : { label, field });
  const actions = (row: Record<string, unknown>) => recordActions(row, String(row['login']), operatorPath);
  const content = html`${grantChangeNews(req, 'Operator')}
<p>Operators who log in through the public API (password grant). The upstream is told their teams, organizations and features.</p>
<div class="toolbar">${filterForm(OPERATORS_BASE, state, 'Filter operators')}${manage ? html`<a class="button primary" href="${OPERATORS_BASE}/new">Add operator</a>` : ''}</div>
<div class="grid-frame"><table id="operators-grid">
<caption>Operators</caption>
<thead><tr>${th('Login', 'login')}${th('API access', 'apiAccess')}${th('Teams', 'teams')}${th('Organizations', 'organizations')}${th('Features', 'features')}${th('Live grants', 'liveGrants')}${th('Source', 'source')}${manage ? th('Actions') : ''}</tr></thead>
<tbody>${
    rows.length === 0
      ? html`<tr><td colspan="${manage ? 8 : 7}">${state.q ? 'No operator matches the filter.' : 'No operators yet.'}</td></tr>`
      : rows.map(
          (row) => html`<tr>
<th scope="row" class="mono">${String(row['login'])}</th><td>${row['apiAccess'] === true ? 'yes' : 'no'}</td>
<td class="text">${listText(row['teams'])}</td><td class="text">${listText(row['organizations'])}</td><td class="text">${listText(row['features'])}</td>
<td>${String(row['liveGrants'] ?? 0)}</td><td>${String(row['source'] ?? '')}</td>${manage ? html`<td>${actions(row)}</td>` : ''}
</tr>`,
        )
  }</tbody></table></div>
${pager(OPERATORS_BASE, state, total, 'operators')}`;
  page(res, TITLE, content);
}

/** The operator to edit or delete, or the page that says why there is none to change (sent, and null returned). */
async function changeable(req: Request, res: Response, context: ConsoleContext, verb: string): Promise<Record<string, unknown> | null> {
  const login = String(req.params['login']);
  const found = await context.grids.operators.get(login);
  if (found.status === 404) {
    page(res, 'Not found', missing(login), 404);
    return null;
  }
  const view = found.body;
  if (view['source'] === 'config') {
    page(res, `Operator "${login}"`, operatorDetails(view, `This operator is declared in the config file; ${verb} it there and reload the proxy.`));
    return null;
  }
  if (!canManage(res)) {
    page(res, `Operator "${login}"`, operatorDetails(view, `The admin token "${sessionOf(res).name}" may only read.`));
    return null;
  }
  return view;
}

/** 412: another admin saved first; the link reloads the edit or the delete page. */
const staleOperator = (login: string, verb: 'saved' | 'deleted') => staleNotice('operator', verb, operatorPath(login, verb === 'saved' ? 'edit' : 'delete'));

function editAgain(res: Response, typed: OperatorTyped, problems: Problem[], status: number, above: SafeHtml = html``): void {
  const form = operatorForm({ mode: 'edit', typed, errors: operatorErrors(problems, typed), session: sessionOf(res) });
  page(res, `Edit operator "${typed.login}"`, html`${above}${form}`, status);
}

function deleteForm(res: Response, view: Record<string, unknown>): SafeHtml {
  const login = String(view['login']);
  const live = Number(view['liveGrants'] ?? 0);
  const ends = live > 0 ? `This revokes its ${plural(live, 'live grant')} (its access and refresh tokens stop working at once).` : 'It has no live grants, so no token is revoked.';
  return html`${notice('warning', html`Delete operator <strong>${login}</strong>? ${ends} It can no longer log in through the API. This cannot be undone.`)}
<form class="record" method="post" action="${operatorPath(login, 'delete')}">
${csrfField(sessionOf(res))}<input type="hidden" name="version" value="${String(view['version'] ?? '')}">
<div class="actions"><button class="danger" type="submit">Delete operator</button><a class="button" href="${OPERATORS_BASE}">Cancel</a></div>
</form>`;
}

export const operatorsPage: ConsolePage = (router, context) => {
  router.get('/operators', (req, res) => grid(req, res, context));

  router.get('/operators/new', (_req, res) => {
    if (!canManage(res)) return page(res, 'Not allowed', notice('error', `The admin token "${sessionOf(res).name}" may only read.`), 403);
    page(res, 'Add operator', operatorForm({ mode: 'add', typed: NEW_OPERATOR, errors: operatorErrors([], NEW_OPERATOR), session: sessionOf(res) }));
  });

  router.post('/operators/new', async (req, res) => {
    const typed = typedFromBody(formOf(req));
    const again = (problems: Problem[]) => page(res, 'Add operator', operatorForm({ mode: 'add', typed, errors: operatorErrors(problems, typed), session: sessionOf(res) }), 400);
    const answer = await context.grids.operators.create(operatorBody(typed, 'add'), sessionOf(res).name);
    if (answer.status === 400) return again(problemsOf(answer));
    if (answer.status !== 201) return again([{ path: '(request)', message: described(answer) }]);
    const login = String(answer.body['login'] ?? typed.login);
    const password = answer.body['password'];
    // A password the admin chose is not repeated; only a generated one must be shown, and only on this answer.
    if (typeof password !== 'string') return res.redirect(303, `${OPERATORS_BASE}?created=${encodeURIComponent(login)}`);
    page(
      res,
      `Operator "${login}" added`,
      html`${notice('ok', `Operator "${login}" was added with a generated password.`)}
${shownOnce({ label: `Password of "${login}"`, secret: password, noun: 'password' })}${back}`,
      201,
    );
  });

  router.get('/operators/:login/edit', async (req, res) => {
    const view = await changeable(req, res, context, 'change');
    if (view !== null) editAgain(res, typedFromView(view), [], 200);
  });

  router.post('/operators/:login/edit', async (req, res) => {
    const login = String(req.params['login']);
    const typed = typedFromBody(formOf(req), login);
    const answer = await context.grids.operators.update(login, operatorBody(typed, 'edit'), typed.version, sessionOf(res).name);
    if (answer.status === 200) return res.redirect(303, `${OPERATORS_BASE}?saved=${encodeURIComponent(login)}`);
    if (answer.status === 400) return editAgain(res, typed, problemsOf(answer), 400);
    if (answer.status === 412) return editAgain(res, typed, [], 412, staleOperator(login, 'saved'));
    if (answer.status === 404) return page(res, 'Not found', missing(login), 404);
    page(res, 'Not saved', html`${notice('error', described(answer))}${back}`, answer.status);
  });

  router.get('/operators/:login/delete', async (req, res) => {
    const view = await changeable(req, res, context, 'delete');
    if (view !== null) page(res, `Delete operator "${String(view['login'])}"`, deleteForm(res, view));
  });

  router.post('/operators/:login/delete', async (req, res) => {
    const login = String(req.params['login']);
    const answer = await context.grids.operators.remove(login, { force: false, ifMatch: postedVersion(req) }, sessionOf(res).name);
    if (answer.status === 200) return res.redirect(303, `${OPERATORS_BASE}?deleted=${encodeURIComponent(login)}&revoked=${Number(answer.body['grantsRevoked'] ?? 0)}`);
    if (answer.status === 412) return page(res, `Delete operator "${login}"`, staleOperator(login, 'deleted'), 412);
    page(res, 'Not deleted', html`${notice('error', answer.status === 404 ? `There is no operator "${login}"; it may have been deleted already.` : described(answer))}${back}`, answer.status);
  });
};
