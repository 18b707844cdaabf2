// The console's API Access page (Cockpit's "Administration / API Access"): the grid of OAuth clients, and the
// add, edit and delete pages around it. Every change goes through the same grid service as the JSON admin API,
// so it is validated, versioned and audited alike; this file only turns forms into API bodies and answers into
// pages. Config file entries and read sessions are shown without any control that would change them.

import type { Request, Response } from 'express';
import type { GridAnswer } from '../../managed/service.js';
import { canManage, sessionOf, type ConsoleContext, type ConsolePage } from '../context.js';
import type { Problem } from '../forms.js';
import { filterForm, gridState, header, listQuery, pager, type GridState } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, notice, sendPage } from '../layout.js';
import { clientBody, clientDetails, clientErrors, clientForm, clientPath, CLIENTS_BASE, NEW_CLIENT, serviceNameOf, shownOnce, typedFromBody, typedFromView, type ClientTyped } from './clients-form.js';
import { formOf, grantChangeNews, plural, postedVersion, problemsOf, recordActions, staleNotice } from './common.js';
import { shownDuration } from './duration-fields.js';

const TITLE = 'API Access';
const scopeOf = (context: ConsoleContext) => context.admin.declared().parsed.oauth.scope;
const page = (res: Response, title: string, content: SafeHtml, status = 200) => sendPage(res, { title, current: 'clients', session: sessionOf(res), status, body: content });
const described = (answer: GridAnswer) => String(answer.body['error_description'] ?? answer.body['error'] ?? `the admin API answered ${answer.status}`);
const back = html`<p><a href="${CLIENTS_BASE}">Back to API Access</a></p>`;
const missing = (id: string) => html`${notice('error', `There is no API access "${id}"; it may have been deleted.`)}${back}`;
const grantsOf = (row: Record<string, unknown>) => (Array.isArray(row['grants']) ? row['grants'].map(String) : []);
// Whom the client acts as, beside the switch: the grid has no room for the identity's attributes (the edit page has).
const clientCredentialsShown = (row: Record<string, unknown>) => (grantsOf(row).includes('client_credentials') ? `yes, as ${serviceNameOf(row['serviceIdentity'])}` : 'no');

const rowsFor = (context: ConsoleContext, state: GridState) => context.grids.clients.list(listQuery(state));

async function grid(req: Request, res: Response, context: ConsoleContext): Promise<void> {
  const state = gridState(req, 'id');
  const { rows, total } = await rowsFor(context, state);
  const manage = canManage(res);
  const scope = scopeOf(context);
  const th = (label: string, field?: string) => header(CLIENTS_BASE, state, field === undefined ? { label } : { label, field });
  const actions = (row: Record<string, unknown>) => recordActions(row, String(row['id']), clientPath);
  const yesNo = (row: Record<string, unknown>, grant: string) => (grantsOf(row).includes(grant) ? 'yes' : 'no');
  const content = html`${grantChangeNews(req, 'API access')}
<p>OAuth clients that third-party tools use to get tokens for the public API (HTTP Basic with the client id and secret): for an operator with the operator's password, or, with client credentials, for the client itself as its service identity.</p>
<div class="toolbar">${filterForm(CLIENTS_BASE, state, 'Filter API access')}${manage ? html`<a class="button primary" href="${CLIENTS_BASE}/new">Add API access</a>` : ''}</div>
<div class="grid-frame"><table id="clients-grid">
<caption>API access clients</caption>
<thead><tr>${th('Client id', 'id')}${th('Description', 'description')}${th('Scope')}${th('Access token expiry', 'accessTokenTtl')}${th('Refresh token expiry', 'refreshTokenTtl')}${th('Password', 'password')}${th('Refresh token', 'refreshToken')}${th('Client credentials', 'clientCredentials')}${th('Introspection', 'introspect')}${th('Live grants', 'liveGrants')}${th('Source', 'source')}${manage ? th('Actions') : ''}</tr></thead>
<tbody>${
    rows.length === 0
      ? html`<tr><td colspan="${manage ? 12 : 11}">${state.q ? 'No API access matches the filter.' : 'No API access yet.'}</td></tr>`
      : rows.map(
          (row) => html`<tr>
<th scope="row" class="mono">${String(row['id'])}</th><td class="text">${String(row['description'] ?? '')}</td><td>${scope}</td>
<td>${shownDuration(row['accessTokenTtl'])}</td><td>${shownDuration(row['refreshTokenTtl'])}</td>
<td>${yesNo(row, 'password')}</td><td>${yesNo(row, 'refresh_token')}</td><td>${clientCredentialsShown(row)}</td><td>${row['introspect'] === true ? 'yes' : 'no'}</td><td>${String(row['liveGrants'] ?? 0)}</td><td>${String(row['source'] ?? '')}</td>${manage ? html`<td>${actions(row)}</td>` : ''}
</tr>`,
        )
  }</tbody></table></div>
${pager(CLIENTS_BASE, state, total, 'API access clients')}`;
  page(res, TITLE, content);
}

/** The client to edit or delete, or the page that says why there is none to change (sent, and null returned). */
async function changeable(req: Request, res: Response, context: ConsoleContext, verb: string): Promise<Record<string, unknown> | null> {
  const id = String(req.params['id']);
  const found = await context.grids.clients.get(id);
  if (found.status === 404) {
    page(res, 'Not found', missing(id), 404);
    return null;
  }
  const view = found.body;
  if (view['source'] === 'config') {
    page(res, `API access "${id}"`, clientDetails(view, scopeOf(context), `This client is declared in the config file; ${verb} it there and reload the proxy.`));
    return null;
  }
  if (!canManage(res)) {
    page(res, `API access "${id}"`, clientDetails(view, scopeOf(context), `The admin token "${sessionOf(res).name}" may only read.`));
    return null;
  }
  return view;
}

/** 412: another admin saved first; the link reloads the edit or the delete page. */
const staleClient = (id: string, verb: 'saved' | 'deleted') => staleNotice('client', verb, clientPath(id, verb === 'saved' ? 'edit' : 'delete'));

function editAgain(res: Response, context: ConsoleContext, typed: ClientTyped, problems: Problem[], status: number, above: SafeHtml = html``): void {
  const form = clientForm({ mode: 'edit', typed, errors: clientErrors(problems, typed), session: sessionOf(res), scope: scopeOf(context) });
  page(res, `Edit API access "${typed.id}"`, html`${above}${form}`, status);
}

export const clientsPage: ConsolePage = (router, context) => {
  router.get('/clients', (req, res) => grid(req, res, context));

  router.get('/clients/new', (_req, res) => {
    if (!canManage(res)) return page(res, 'Not allowed', notice('error', `The admin token "${sessionOf(res).name}" may only read.`), 403);
    page(res, 'Add API access', clientForm({ mode: 'add', typed: NEW_CLIENT, errors: clientErrors([], NEW_CLIENT), session: sessionOf(res), scope: scopeOf(context) }));
  });

  router.post('/clients/new', async (req, res) => {
    const typed = typedFromBody(formOf(req));
    const again = (problems: Problem[]) =>
      page(res, 'Add API access', clientForm({ mode: 'add', typed, errors: clientErrors(problems, typed), session: sessionOf(res), scope: scopeOf(context) }), 400);
    const built = clientBody(typed, 'add');
    if (!built.ok) return again(built.problems);
    const answer = await context.grids.clients.create(built.body, sessionOf(res).name);
    if (answer.status === 400) return again(problemsOf(answer));
    if (answer.status !== 201) return again([{ path: '(request)', message: described(answer) }]);
    const secret = answer.body['secret'];
    // A secret the admin chose is not repeated; only a generated one must be shown, and only on this answer.
    if (typeof secret !== 'string') return res.redirect(303, `${CLIENTS_BASE}?created=${encodeURIComponent(typed.id)}`);
    page(
      res,
      `API access "${typed.id}" added`,
      html`${notice('ok', `API access "${typed.id}" was added with a generated secret.`)}
${shownOnce({ label: `Client secret of "${typed.id}"`, secret, noun: 'secret' })}
${back}`,
      201,
    );
  });

  router.get('/clients/:id/edit', async (req, res) => {
    const view = await changeable(req, res, context, 'change');
    if (view === null) return;
    editAgain(res, context, typedFromView(view), [], 200);
  });

  router.post('/clients/:id/edit', async (req, res) => {
    const id = String(req.params['id']);
    const typed = typedFromBody(formOf(req), id);
    const built = clientBody(typed, 'edit');
    if (!built.ok) return editAgain(res, context, typed, built.problems, 400);
    const answer = await context.grids.clients.update(id, built.body, typed.version, sessionOf(res).name);
    if (answer.status === 200) return res.redirect(303, `${CLIENTS_BASE}?saved=${encodeURIComponent(id)}`);
    if (answer.status === 400) return editAgain(res, context, typed, problemsOf(answer), 400);
    if (answer.status === 412) return editAgain(res, context, typed, [], 412, staleClient(id, 'saved'));
    if (answer.status === 404) return page(res, 'Not found', missing(id), 404);
    page(res, 'Not saved', html`${notice('error', described(answer))}${back}`, answer.status);
  });

  router.get('/clients/:id/delete', async (req, res) => {
    const view = await changeable(req, res, context, 'delete');
    if (view === null) return;
    page(res, `Delete API access "${String(view['id'])}"`, deleteForm(res, view));
  });

  router.post('/clients/:id/delete', async (req, res) => {
    const id = String(req.params['id']);
    const answer = await context.grids.clients.remove(id, { force: false, ifMatch: postedVersion(req) }, sessionOf(res).name);
    if (answer.status === 200) return res.redirect(303, `${CLIENTS_BASE}?deleted=${encodeURIComponent(id)}&revoked=${Number(answer.body['grantsRevoked'] ?? 0)}`);
    if (answer.status === 412) return page(res, `Delete API access "${id}"`, staleClient(id, 'deleted'), 412);
    page(res, 'Not deleted', html`${notice('error', answer.status === 404 ? `There is no API access "${id}"; it may have been deleted already.` : described(answer))}${back}`, answer.status);
  });
};

function deleteForm(res: Response, view: Record<string, unknown>): SafeHtml {
  const id = String(view['id']);
  const live = Number(view['liveGrants'] ?? 0);
  const ends = live > 0 ? `This revokes its ${plural(live, 'live grant')} (its access and refresh tokens stop working at once).` : 'It has no live grants, so no token is revoked.';
  return html`${notice('warning', html`Delete API access <strong>${id}</strong>? ${ends} Tools using this client id can no longer get tokens. This cannot be undone.`)}
<form class="record" method="post" action="${clientPath(id, 'delete')}">
${csrfField(sessionOf(res))}<input type="hidden" name="version" value="${String(view['version'] ?? '')}">
<div class="actions"><button class="danger" type="submit">Delete API access</button><a class="button" href="${CLIENTS_BASE}">Cancel</a></div>
</form>`;
}
