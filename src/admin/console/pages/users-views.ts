// The API Users grid and its Add and Edit forms. As in the vendor's tab a user is added with its login, keys,
// password and session expiration date, and afterwards only that date can change; the grid is paged on the
// server like every console grid.

import type { ConsoleSession } from '../session.js';
import { FieldErrors, textField } from '../forms.js';
import { filterForm, type GridState, header, pager } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';
import { CONSOLE_BASE, csrfField } from '../layout.js';
import { endFieldType, endHint, liveOf, shownEnd, stateQuery } from './common.js';

export const USERS_BASE = `${CONSOLE_BASE}/users`;
export const USER_FIELDS = ['login', 'keys', 'password', 'sessionExpiresAt'] as const;
export const userErrors = (problems: readonly { path: string; message: string }[]): FieldErrors => new FieldErrors(problems, USER_FIELDS);

export const userPath = (login: string): string => `${USERS_BASE}/${encodeURIComponent(login)}`;

const keysOf = (row: Record<string, unknown>): string[] => (Array.isArray(row['keys']) ? (row['keys'] as unknown[]).filter((k): k is string => typeof k === 'string') : []);

export function usersGrid(o: { rows: readonly Record<string, unknown>[]; total: number; state: GridState; manage: boolean }): SafeHtml {
  const h = (label: string, field?: string) => header(USERS_BASE, o.state, field === undefined ? { label } : { label, field });
  const query = stateQuery(o.state);
  const actions = (r: Record<string, unknown>) => {
    const login = String(r['login']);
    if (r['source'] === 'config') return html`<span class="muted">in the config file</span>`;
    if (!o.manage) return '';
    return html`<div class="actions"><a class="button" href="${userPath(login)}/edit${query}" aria-label="Edit ${login}">Edit</a>
<a class="button" href="${userPath(login)}/delete${query}" aria-label="Delete ${login}">Delete</a></div>`;
  };
  const rows = o.rows.map(
    (r) => html`<tr>
<th scope="row" class="mono">${String(r['login'])}</th>
<td class="text">${keysOf(r).join(', ')}</td>
<td>${shownEnd(r['sessionExpiresAt'])}${r['expired'] === true ? html` <strong>(expired)</strong>` : ''}</td>
<td>${liveOf(r)}</td>
<td>${r['source'] === 'config' ? 'Config file' : 'Managed'}</td>
<td>${actions(r)}</td>
</tr>`,
  );
  return html`<div class="toolbar">${filterForm(USERS_BASE, o.state, 'Filter users')}
${o.manage ? html`<a class="button primary" href="${USERS_BASE}/new${query}">Add user</a>` : ''}</div>
<div class="grid-frame"><table>
<caption>API users${o.state.q ? html` matching “${o.state.q}”` : ''}</caption>
<thead><tr>${h('User', 'login')}${h('Keys', 'keys')}${h('Session expiration date', 'sessionExpiresAt')}${h('Live sessions', 'liveSessions')}${h('Source', 'source')}${h('Actions')}</tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="6">${o.state.q ? 'No user matches the filter.' : 'There are no API users yet.'}</td></tr>` : rows}</tbody>
</table></div>
${pager(USERS_BASE, o.state, o.total, 'API users')}`;
}

export interface UserFormValues {
  login: string;
  keys: string;
  /** Never drawn back into the page: a password typed once is not echoed into HTML. */
  passwordTyped: boolean;
  sessionExpiresAt: string;
}

const DATE_HINT = 'The last day its sessions work (through the end of that day, UTC).';

export function userForm(o: { mode: 'create' | 'edit'; values: UserFormValues; errors: FieldErrors; action: string; back: string; session: ConsoleSession; version?: unknown; problem?: SafeHtml }): SafeHtml {
  const { values: v, errors } = o;
  const date = textField({
    name: 'sessionExpiresAt',
    label: 'Session expiration date',
    type: endFieldType(v.sessionExpiresAt),
    value: v.sessionExpiresAt,
    errors,
    hint: endHint(DATE_HINT, o.mode === 'edit' ? 'Clear it so sessions never stop on a date.' : 'Empty: no date.', v.sessionExpiresAt),
  });
  const passwordHint = v.passwordTyped && errors.any ? 'The password you typed is not sent back: type it again, or leave it empty to have one generated.' : 'At least 8 characters. Leave it empty to have one generated and shown once.';
  const fields =
    o.mode === 'create'
      ? html`${textField({ name: 'login', label: 'User (login)', value: v.login, errors, required: true, hint: 'Printable ASCII without spaces.' })}
${textField({ name: 'keys', label: 'Keys', value: v.keys, errors, required: true, hint: 'API key ids, separated by commas (e.g. demo-rw, ops-key).' })}
${textField({ name: 'password', label: 'Password', type: 'password', value: '', errors, hint: passwordHint, autocomplete: 'new-password' })}
${date}`
      : html`<input type="hidden" name="version" value="${String(o.version ?? '')}"><p>User: <strong class="mono">${v.login}</strong>; keys: ${v.keys}. As in the vendor's tab only the session expiration date can be changed.</p>
${date}`;
  return html`${o.problem ?? ''}${errors.summary()}
<form class="record" method="post" action="${o.action}" novalidate>${csrfField(o.session)}
${fields}
<div class="actions"><button class="primary" type="submit">${o.mode === 'create' ? 'Add user' : 'Save user'}</button> <a class="button" href="${o.back}">Cancel</a></div>
</form>`;
}
