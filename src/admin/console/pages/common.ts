// Pieces the console's record pages share. All of them: reading a posted form and a grid service's answer. The API
// Keys and API Users pages: dates shown and edited as the last day they still work, the grid's address with its
// filter, sort and page kept across a form post, the record to change or the 403/404/409 page instead, the page
// that shows a generated secret once, and the delete confirmation that names the sessions it ends. The API Access
// and Operators pages: the news after a change, the 412 notice, and columns the page sorts itself.

import type { Request, Response } from 'express';
import type { GridAnswer } from '../../managed/service.js';
import type { Problem } from '../forms.js';
import { type GridState, shownDate } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';
import { CONSOLE_BASE, csrfField, notice, sendPage } from '../layout.js';
import { canManage, queryText, sessionOf } from '../context.js';

const DAY_MS = 86_400_000;
const BARE_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The API keeps the exclusive end instant; at midnight UTC the admin thinks of the day before as the last one. */
export function lastDay(iso: unknown): string | null {
  if (typeof iso !== 'string' || iso === '') return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms) || ms % DAY_MS !== 0) return null;
  return new Date(ms - DAY_MS).toISOString().slice(0, 10);
}

/** A date column: the last day, or the exact instant when it does not end at midnight UTC, or a dash. */
export const shownEnd = (iso: unknown): string => lastDay(iso) ?? shownDate(iso);

/** What an edit form starts with: the last day, or the exact instant (which the API takes back as it is). */
export const endFieldValue = (iso: unknown): string => lastDay(iso) ?? (typeof iso === 'string' ? iso : '');

/** A date field: `<input type=date>` unless the value is an exact instant, which a date input would silently drop. */
export const endFieldType = (value: string): string => (value === '' || BARE_DATE.test(value) ? 'date' : 'text');

/** A date field's hint; an exact instant in a text field also says how to write one. */
export const endHint = (what: string, empty: string, value: string): string =>
  endFieldType(value) === 'date' ? `${what} ${empty}` : `${what} This one ends at an exact instant: keep it, or type a date like 2027-12-31 or an instant like 2027-12-31T18:00:00Z. ${empty}`;

/** The grid state as a query string (with a leading `?`), plus any news for the grid to show. */
export function stateQuery(state: GridState, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (state.q) params.set('q', state.q);
  params.set('sort', state.sort);
  params.set('order', state.order);
  if (state.page > 1) params.set('page', String(state.page));
  for (const [name, v] of Object.entries(extra)) params.set(name, v);
  return `?${params.toString()}`;
}

/** The posted form's fields. */
export const formOf = (req: Request): Record<string, unknown> => (req.body ?? {}) as Record<string, unknown>;

export const problemsOf = (answer: GridAnswer): Problem[] => (Array.isArray(answer.body['problems']) ? (answer.body['problems'] as Problem[]) : []);
export const errorOf = (answer: GridAnswer): string => (typeof answer.body['error'] === 'string' ? answer.body['error'] : '');
export const descriptionOf = (answer: GridAnswer): string => (typeof answer.body['error_description'] === 'string' ? answer.body['error_description'] : `The change was refused (${answer.status}).`);
export const liveOf = (body: Record<string, unknown>): number => (typeof body['liveSessions'] === 'number' ? body['liveSessions'] : 0);
export const sessionsEndedOf = (body: Record<string, unknown>): number => (typeof body['sessionsEnded'] === 'number' ? body['sessionsEnded'] : 0);

/** The If-Match the form's hidden version stands for; a missing one cannot match, so nothing is overwritten blindly. */
export const ifMatchOf = (body: Record<string, unknown>): string => `"${typeof body['version'] === 'string' ? body['version'] : ''}"`;

/** The id in the path, as express 5 gives it. */
export const idParam = (req: Request): string => (typeof req.params['id'] === 'string' ? req.params['id'] : '');

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
export const sessionsText = (n: number): string => plural(n, 'live session');

/** Why a change did not happen, for the answers that are not field problems. */
export function refusal(answer: GridAnswer, noun: string, id: string, reload: string): SafeHtml {
  const error = errorOf(answer);
  if (error === 'version_mismatch') {
    return notice('error', html`Someone else changed this ${noun} since you opened it, so nothing was saved. <a href="${reload}">Reload the current version</a> and apply your change again.`);
  }
  if (error === 'declared_in_config') return notice('error', html`The ${noun} ${id} is declared in the config file: change it there and reload the config.`);
  if (error === 'not_found') return notice('error', html`There is no ${noun} ${id} (any more).`);
  return notice('error', descriptionOf(answer));
}

/** The one page that ever shows a generated key or password: copy it now or never. */
export function sendSecret(res: Response, options: { title: string; current: string; news: string; label: string; what: string; inputId: string; secret: string; back: string; backLabel: string }): void {
  sendPage(res, {
    title: options.title,
    current: options.current,
    session: sessionOf(res),
    status: 201,
    body: html`${notice('ok', options.news)}
${notice('warning', html`<strong>Copy the ${options.what} now: it will not be shown again.</strong> Only its hash is kept.`)}
<div class="field"><label for="${options.inputId}">${options.label}</label>
<div class="secret"><input id="${options.inputId}" type="text" readonly value="${options.secret}" autocomplete="off" spellcheck="false">
<button type="button" data-copy="${options.inputId}" data-status="copy-status" hidden>Copy</button><span id="copy-status" role="status"></span></div></div>
<p><a href="${options.back}">${options.backLabel}</a></p>`,
  });
}

/** The delete confirmation: says what the delete ends, and sends `force` only when the admin saw live sessions. */
export function sendDeleteConfirm(
  res: Response,
  options: { title: string; current: string; noun: string; id: string; live: number; version: unknown; action: string; back: string; problem?: SafeHtml; status?: number },
): void {
  const { live } = options;
  sendPage(res, {
    title: options.title,
    current: options.current,
    session: sessionOf(res),
    status: options.status ?? 200,
    body: html`${options.problem ?? ''}
<form class="record" method="post" action="${options.action}">${csrfField(sessionOf(res))}
<input type="hidden" name="version" value="${String(options.version ?? '')}">
${live > 0 ? html`<input type="hidden" name="force" value="true">` : ''}
<p>Delete the ${options.noun} <strong class="mono">${options.id}</strong>?
${live > 0 ? html`This ends its <strong>${sessionsText(live)}</strong> at once.` : 'It has no live sessions.'} This cannot be undone.</p>
<div class="actions"><button class="danger" type="submit">Delete ${options.id}</button> <a class="button" href="${options.back}">Cancel</a></div>
</form>`,
  });
}

/** The news a grid shows after a redirect from one of its forms. */
export function gridNews(req: Request): SafeHtml {
  const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string).slice(0, 200) : '');
  if (q('saved')) return notice('ok', html`Saved ${q('saved')}.`);
  if (q('added')) return notice('ok', html`Added ${q('added')}.`);
  if (q('deleted')) {
    const ended = Number(q('ended'));
    return notice('ok', html`Deleted ${q('deleted')}; ${Number.isSafeInteger(ended) && ended > 0 ? plural(ended, 'session') : 'no sessions'} ended.`);
  }
  return html``;
}

/** A read session reaching a page that only changes things. */
export const readOnlyPage = (res: Response, current: string): void =>
  sendPage(res, { title: 'Not allowed', current, status: 403, session: sessionOf(res), body: notice('error', html`The admin token "${sessionOf(res).name}" may only read. <a href="${CONSOLE_BASE}/${current}">Back</a>`) });

/** The page for an id that is not there. */
export const notFoundPage = (res: Response, current: string, noun: string, id: string, back: string): void =>
  sendPage(res, { title: 'Not found', current, status: 404, session: sessionOf(res), body: html`${notice('error', html`There is no ${noun} ${id}.`)}<p><a href="${back}">Back to the grid</a></p>` });

/** 409: a record of the config file, said so instead of a form or a confirmation that could only be refused. */
export function declaredInConfigPage(res: Response, options: { title: string; current: string; noun: string; id: string; back: string; backLabel: string }): void {
  sendPage(res, {
    title: options.title,
    current: options.current,
    session: sessionOf(res),
    status: 409,
    body: html`${notice('error', html`The ${options.noun} ${options.id} is declared in the config file: change it there and reload the config.`)}<p><a href="${options.back}">${options.backLabel}</a></p>`,
  });
}

/** Where a record is read from, and the pages that say why it cannot be changed. */
export interface RecordLookup {
  current: string;
  noun: string;
  id: string;
  back: string;
  get(id: string): Promise<GridAnswer>;
  /** Sends the config file's 409 page and says true when `row` is of the config file. */
  unchangeable(row: Record<string, unknown>): boolean;
}

/** The record an edit or delete page changes; for a read session, or a record that is missing or of the config file, the page that says so is sent and null returned. */
export async function recordToChange(res: Response, lookup: RecordLookup): Promise<Record<string, unknown> | null> {
  if (!canManage(res)) {
    readOnlyPage(res, lookup.current);
    return null;
  }
  return currentRecord(res, lookup);
}

/** The record as it is now; when it is missing or of the config file, the page that says so is sent and null returned. */
export async function currentRecord(res: Response, options: RecordLookup): Promise<Record<string, unknown> | null> {
  const answer = await options.get(options.id);
  if (answer.status !== 200) {
    notFoundPage(res, options.current, options.noun, options.id, options.back);
    return null;
  }
  return options.unchangeable(answer.body) ? null : answer.body;
}

/** The news a grid shows after a redirect from an add, save or delete that revokes grants. */
export function grantChangeNews(req: Request, label: string): SafeHtml {
  const created = queryText(req, 'created');
  const saved = queryText(req, 'saved');
  const deleted = queryText(req, 'deleted');
  if (created) return notice('ok', `${label} "${created}" was added.`);
  if (saved) return notice('ok', `${label} "${saved}" was saved.`);
  if (deleted) return notice('ok', `${label} "${deleted}" was deleted; ${plural(Number(queryText(req, 'revoked')) || 0, 'grant')} revoked.`);
  return html``;
}

/** 412: another admin saved first. What was typed stays on the page; the link loads the current version. */
export const staleNotice = (noun: string, verb: 'saved' | 'deleted', reload: string): SafeHtml =>
  notice('error', html`Someone else changed this ${noun} since you opened it, so it was not ${verb}. <a href="${reload}">Reload the ${noun}</a> to see the current values, then ${verb === 'saved' ? 'apply your change' : 'decide'} again.`);

/** A grid row's Edit and Delete links; a row of the config file says so instead. */
export function recordActions(row: Record<string, unknown>, id: string, pathOf: (id: string, action: 'edit' | 'delete') => string): SafeHtml {
  if (row['source'] === 'config') return html`<span class="muted">In the config file</span>`;
  return html`<div class="actions"><a class="button" href="${pathOf(id, 'edit')}" aria-label="Edit ${id}">Edit</a><a class="button" href="${pathOf(id, 'delete')}" aria-label="Delete ${id}">Delete</a></div>`;
}

/** The version a delete form posted, as its If-Match. */
export const postedVersion = (req: Request): string => (typeof formOf(req)['version'] === 'string' ? (formOf(req)['version'] as string) : '');
