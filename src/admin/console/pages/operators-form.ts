// The operator add and edit forms (Cockpit's operators with the API-access right): what the admin typed, how it
// becomes the admin API's body, and the read-only view of an operator that may not be edited here. Teams,
// organizations and features are typed comma-separated, the way the upstream receives them in one header.

import type { ConsoleSession } from '../session.js';
import { checkbox, FieldErrors, listOf, textField, value, type Problem } from '../forms.js';
import { html, type SafeHtml } from '../html.js';
import { CONSOLE_BASE, csrfField, notice } from '../layout.js';

export const OPERATORS_BASE = `${CONSOLE_BASE}/operators`;
export const operatorPath = (login: string, action: 'edit' | 'delete') => `${OPERATORS_BASE}/${encodeURIComponent(login)}/${action}`;

/** The form's fields, in the names the admin API reports problems under (`teams[1]` lands on `teams`). */
export const OPERATOR_FIELDS = ['login', 'password', 'apiAccess', 'teams', 'organizations', 'features'] as const;
const LISTS = [
  { field: 'teams', label: 'Teams' },
  { field: 'organizations', label: 'Organizations' },
  { field: 'features', label: 'Features' },
] as const;
type ListField = (typeof LISTS)[number]['field'];

export interface OperatorTyped {
  login: string;
  password: string;
  apiAccess: boolean;
  /** As typed, so a 400 page shows exactly what the admin entered. */
  lists: Record<ListField, string>;
  /** The version the edit form was opened at; sent back as If-Match. */
  version: string;
}

export const NEW_OPERATOR: OperatorTyped = { login: '', password: '', apiAccess: true, lists: { teams: '', organizations: '', features: '' }, version: '' };

const listText = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : '');

export function typedFromView(view: Record<string, unknown>): OperatorTyped {
  return {
    login: String(view['login'] ?? ''),
    password: '',
    apiAccess: view['apiAccess'] === true,
    lists: { teams: listText(view['teams']), organizations: listText(view['organizations']), features: listText(view['features']) },
    version: typeof view['version'] === 'number' ? String(view['version']) : '',
  };
}

export function typedFromBody(body: Record<string, unknown>, login?: string): OperatorTyped {
  return {
    login: login ?? value(body, 'login').trim(),
    password: value(body, 'password'),
    // An unticked checkbox is simply absent from the form.
    apiAccess: value(body, 'apiAccess') !== '',
    lists: { teams: value(body, 'teams'), organizations: value(body, 'organizations'), features: value(body, 'features') },
    version: value(body, 'version'),
  };
}

/** The admin API's body. An empty password is left out: on creation one is generated, on an edit it stays. */
export function operatorBody(typed: OperatorTyped, mode: 'add' | 'edit'): Record<string, unknown> {
  return {
    ...(mode === 'add' ? { login: typed.login } : {}),
    ...(typed.password !== '' ? { password: typed.password } : {}),
    apiAccess: typed.apiAccess,
    teams: listOf(typed.lists.teams),
    organizations: listOf(typed.lists.organizations),
    features: listOf(typed.lists.features),
  };
}

/** The API's problems by field; a problem about `teams[2]` names the entry, since the field holds the whole list. */
export function operatorErrors(problems: readonly Problem[], typed: OperatorTyped): FieldErrors {
  const named = problems.map((p) => {
    const entry = /^(teams|organizations|features)\[(\d+)\]$/.exec(p.path);
    if (entry === null) return p;
    const item = listOf(typed.lists[entry[1] as ListField])[Number(entry[2])];
    return item === undefined ? p : { path: p.path, message: `"${item}": ${p.message}` };
  });
  return new FieldErrors(named, OPERATOR_FIELDS);
}

export function operatorForm(options: { mode: 'add' | 'edit'; typed: OperatorTyped; errors: FieldErrors; session: ConsoleSession }): SafeHtml {
  const { mode, typed, errors } = options;
  const action = mode === 'add' ? `${OPERATORS_BASE}/new` : operatorPath(typed.login, 'edit');
  const apiInvalid = errors.of('apiAccess').length > 0;
  return html`${errors.summary()}
<form class="record" method="post" action="${action}" novalidate>
${csrfField(options.session)}${mode === 'edit' ? html`<input type="hidden" name="version" value="${typed.version}">` : ''}
${textField({ name: 'login', label: 'Login', value: typed.login, errors, required: mode === 'add', readonly: mode === 'edit', hint: mode === 'add' ? 'The username the tool sends with the password grant; printable ASCII without spaces. It cannot be changed later.' : 'The login cannot be changed.' })}
${textField({
  name: 'password',
  label: mode === 'add' ? 'Password' : 'Set a new password',
  type: 'password',
  autocomplete: 'new-password',
  value: typed.password,
  errors,
  hint: mode === 'add' ? 'At least 8 characters. Leave empty to have one generated; it is shown once.' : 'Leave empty to keep the current password.',
})}
<div class="field${apiInvalid ? ' invalid' : ''}" id="f-apiAccess-field">${checkbox({ name: 'apiAccess', label: 'API access', checked: typed.apiAccess })}
<p class="hint">The right to connect to the public API; without it the operator's tokens are refused from the next request on.</p>
${apiInvalid ? html`<p class="field-error" id="e-apiAccess">${errors.of('apiAccess').join('; ')}</p>` : ''}</div>
${LISTS.map((l) => textField({ name: l.field, label: l.label, value: typed.lists[l.field], errors, hint: 'Comma-separated, e.g. "service-desk, network"; the upstream receives them as they are written.' }))}
<div class="actions"><button class="primary" type="submit">${mode === 'add' ? 'Add operator' : 'Save changes'}</button><a class="button" href="${OPERATORS_BASE}">Cancel</a></div>
</form>`;
}

/** An operator the signed-in admin may not change: a config file entry, or any operator for a read session. */
export function operatorDetails(view: Record<string, unknown>, why: string): SafeHtml {
  return html`${notice('warning', why)}
<dl class="record">
<dt>Login</dt><dd>${String(view['login'] ?? '')}</dd>
<dt>API access</dt><dd>${view['apiAccess'] === true ? 'yes' : 'no'}</dd>
<dt>Teams</dt><dd>${listText(view['teams']) || '—'}</dd>
<dt>Organizations</dt><dd>${listText(view['organizations']) || '—'}</dd>
<dt>Features</dt><dd>${listText(view['features']) || '—'}</dd>
<dt>Live grants</dt><dd>${String(view['liveGrants'] ?? 0)}</dd>
<dt>Source</dt><dd>${String(view['source'] ?? '')}</dd>
</dl>
<p><a href="${OPERATORS_BASE}">Back to Operators</a></p>`;
}
