// The API Access add and edit forms (Cockpit's "Administration / API Access" form): what the admin typed, how it
// becomes the admin API's body, and the pieces the pages around it show — the secret shown once after a
// creation, and the read-only view of a client that may not be edited here.

import type { ConsoleSession } from '../session.js';
import { checkbox, FieldErrors, listOf, textField, value, values, type Problem } from '../forms.js';
import { html, type SafeHtml } from '../html.js';
import { CONSOLE_BASE, csrfField, notice } from '../layout.js';
import { composeDuration, durationFields, hoursMinutesFrom, hoursMinutesOf, shownDuration, type HoursMinutes } from './duration-fields.js';

export const CLIENTS_BASE = `${CONSOLE_BASE}/clients`;
export const clientPath = (id: string, action: 'edit' | 'delete') => `${CLIENTS_BASE}/${encodeURIComponent(id)}/${action}`;

/** The form's fields, in the names the admin API reports problems under. */
export const CLIENT_FIELDS = ['id', 'description', 'secret', 'accessTokenTtl', 'refreshTokenTtl', 'grants', 'introspect', 'serviceName', 'serviceTeams', 'serviceOrganizations', 'serviceFeatures'] as const;

/** The vendor's two authorizations, the client acting for itself, and the API's names for them. */
const AUTHORIZATIONS = [
  { grant: 'password', label: 'Password', hint: 'operators sign in with their login and password' },
  { grant: 'refresh_token', label: 'Refresh token', hint: 'an access token may be renewed without the password' },
  { grant: 'client_credentials', label: 'Client credentials', hint: 'the client gets tokens for itself with its secret alone, no operator password, and is forwarded as the service identity below' },
] as const;

/** The service identity's fields in the form, and where the admin API reports their problems. */
const SERVICE_FIELDS = [
  { field: 'serviceName', api: 'name', label: 'Service name', hint: 'The user the upstream is told about; printable ASCII without spaces, e.g. "svc-monitoring".' },
  { field: 'serviceTeams', api: 'teams', label: 'Service teams', hint: 'Comma-separated, as for an operator.' },
  { field: 'serviceOrganizations', api: 'organizations', label: 'Service organizations', hint: 'Comma-separated, as for an operator.' },
  { field: 'serviceFeatures', api: 'features', label: 'Service features', hint: 'Comma-separated, as for an operator.' },
] as const;
type ServiceField = (typeof SERVICE_FIELDS)[number]['field'];
const NO_SERVICE: Record<ServiceField, string> = { serviceName: '', serviceTeams: '', serviceOrganizations: '', serviceFeatures: '' };
const listText = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : '');

export interface ClientTyped {
  id: string;
  description: string;
  secret: string;
  access: HoursMinutes;
  refresh: HoursMinutes;
  grants: ReadonlySet<string>;
  /** The client may ask POST /oauth/introspect about tokens. */
  introspect: boolean;
  /** The service identity as typed; all empty when the client has none. */
  service: Record<ServiceField, string>;
  /** The version the edit form was opened at; sent back as If-Match. */
  version: string;
}

/** A new client starts with the API's own defaults (1 h, 8 h, both authorizations). */
export const NEW_CLIENT: ClientTyped = { id: '', description: '', secret: '', access: { hours: '1', minutes: '0' }, refresh: { hours: '8', minutes: '0' }, grants: new Set(['password', 'refresh_token']), introspect: false, service: NO_SERVICE, version: '' };

export function typedFromView(view: Record<string, unknown>): ClientTyped {
  return {
    id: String(view['id'] ?? ''),
    description: typeof view['description'] === 'string' ? view['description'] : '',
    secret: '',
    access: hoursMinutesFrom(view['accessTokenTtl']),
    refresh: hoursMinutesFrom(view['refreshTokenTtl']),
    grants: new Set(Array.isArray(view['grants']) ? view['grants'].map(String) : []),
    introspect: view['introspect'] === true,
    service: serviceTyped(view['serviceIdentity']),
    version: typeof view['version'] === 'number' ? String(view['version']) : '',
  };
}

export function typedFromBody(body: Record<string, unknown>, id?: string): ClientTyped {
  return {
    id: id ?? value(body, 'id').trim(),
    description: value(body, 'description'),
    secret: value(body, 'secret'),
    access: hoursMinutesOf(body, 'accessTokenTtl'),
    refresh: hoursMinutesOf(body, 'refreshTokenTtl'),
    grants: new Set(values(body, 'grants')),
    // An unticked box is not sent at all, so its absence is the "no".
    introspect: value(body, 'introspect') !== '',
    service: { serviceName: value(body, 'serviceName').trim(), serviceTeams: value(body, 'serviceTeams'), serviceOrganizations: value(body, 'serviceOrganizations'), serviceFeatures: value(body, 'serviceFeatures') },
    version: value(body, 'version'),
  };
}

function serviceTyped(identity: unknown): Record<ServiceField, string> {
  if (identity === null || typeof identity !== 'object') return NO_SERVICE;
  const fields = identity as Record<string, unknown>;
  return { serviceName: String(fields['name'] ?? ''), serviceTeams: listText(fields['teams']), serviceOrganizations: listText(fields['organizations']), serviceFeatures: listText(fields['features']) };
}

/**
 * The service identity for the API: none when every field is empty (on an edit, null takes it away), else what
 * was typed, even incomplete, so the API names what is missing next to its field.
 */
function serviceIdentityBody(typed: ClientTyped, mode: 'add' | 'edit'): Record<string, unknown> {
  const s = typed.service;
  if (Object.values(s).every((v) => v.trim() === '')) return mode === 'edit' ? { serviceIdentity: null } : {};
  return { serviceIdentity: { name: s.serviceName, teams: listOf(s.serviceTeams), organizations: listOf(s.serviceOrganizations), features: listOf(s.serviceFeatures) } };
}

/**
 * The admin API's body for what was typed, or the problems that stop it being sent. An empty secret is left out:
 * on creation the proxy then generates one, on an edit the current secret stays.
 */
export function clientBody(typed: ClientTyped, mode: 'add' | 'edit'): { ok: true; body: Record<string, unknown> } | { ok: false; problems: Problem[] } {
  const access = composeDuration('accessTokenTtl', typed.access);
  const refresh = composeDuration('refreshTokenTtl', typed.refresh);
  const problems = [...(access.ok ? [] : [access.problem]), ...(refresh.ok ? [] : [refresh.problem])];
  if (!access.ok || !refresh.ok) return { ok: false, problems };
  // Kept in the vendor's order whatever order the browser sent the boxes in.
  const grants = AUTHORIZATIONS.map((a) => a.grant).filter((g) => typed.grants.has(g));
  const body: Record<string, unknown> = {
    ...(mode === 'add' ? { id: typed.id } : {}),
    description: typed.description,
    ...(typed.secret !== '' ? { secret: typed.secret } : {}),
    accessTokenTtl: access.text,
    refreshTokenTtl: refresh.text,
    grants,
    ...serviceIdentityBody(typed, mode),
    introspect: typed.introspect,
  };
  return { ok: true, body };
}

/** The API's problems on the form's fields, with the one about no authorization said in the form's words. */
export function clientErrors(problems: readonly Problem[], typed: ClientTyped): FieldErrors {
  const worded = problems.map((p) => {
    if (p.path === 'grants' && typed.grants.size === 0) return { path: 'grants', message: 'tick at least one authorization: Password, Refresh token or Client credentials' };
    // A missing identity is missing its name first; `serviceIdentity.teams[1]` lands on the teams field.
    if (p.path === 'serviceIdentity') return { path: 'serviceName', message: p.message };
    const inner = /^serviceIdentity\.(name|teams|organizations|features)(.*)$/.exec(p.path);
    const field = SERVICE_FIELDS.find((f) => f.api === inner?.[1]);
    return field === undefined ? p : { path: `${field.field}${inner?.[2] ?? ''}`, message: p.message };
  });
  return new FieldErrors(worded, CLIENT_FIELDS);
}

export function clientForm(options: { mode: 'add' | 'edit'; typed: ClientTyped; errors: FieldErrors; session: ConsoleSession; scope: string }): SafeHtml {
  const { mode, typed, errors } = options;
  const action = mode === 'add' ? `${CLIENTS_BASE}/new` : clientPath(typed.id, 'edit');
  const grantsInvalid = errors.of('grants').length > 0;
  return html`${errors.summary()}
<form class="record" method="post" action="${action}" novalidate>
${csrfField(options.session)}${mode === 'edit' ? html`<input type="hidden" name="version" value="${typed.version}">` : ''}
${textField({ name: 'id', label: 'Client id', value: typed.id, errors, required: mode === 'add', readonly: mode === 'edit', hint: mode === 'add' ? 'Unique; the tool sends it with its secret (HTTP Basic). It cannot be changed later.' : 'The client id cannot be changed.' })}
${textField({ name: 'description', label: 'Description', value: typed.description, errors })}
${textField({
  name: 'secret',
  label: mode === 'add' ? 'Client secret' : 'Set a new secret',
  type: 'password',
  autocomplete: 'new-password',
  value: typed.secret,
  errors,
  hint: mode === 'add' ? 'At least 8 characters. Leave empty to have one generated; it is shown once.' : 'Leave empty to keep the current secret.',
})}
<div class="field"><label for="f-scope">Scope</label><p class="hint" id="h-scope">The proxy's one scope (oauth.scope in the config file); it cannot be modified.</p>
<input id="f-scope" type="text" value="${options.scope}" readonly aria-describedby="h-scope"></div>
${durationFields({ field: 'accessTokenTtl', legend: 'Access token expiry', hint: 'How long an access token lasts.', typed: typed.access, errors })}
${durationFields({ field: 'refreshTokenTtl', legend: 'Refresh token expiry', hint: 'How long a token may be renewed.', typed: typed.refresh, errors })}
<fieldset class="field${grantsInvalid ? ' invalid' : ''}" id="f-grants"${grantsInvalid ? html` aria-describedby="e-grants"` : ''}><legend>Authorizations</legend>
${AUTHORIZATIONS.map((a) => html`${checkbox({ name: 'grants', value: a.grant, label: a.label, checked: typed.grants.has(a.grant), id: `f-grants-${a.grant}` })}<p class="hint">${a.hint}</p>`)}
${grantsInvalid ? html`<p class="field-error" id="e-grants">${errors.of('grants').join('; ')}</p>` : ''}</fieldset>
<fieldset class="field" id="f-service"><legend>Service identity</legend><p class="hint">Whom the client is forwarded as with client credentials, like an operator's attributes.</p>
${SERVICE_FIELDS.map((f) => textField({ name: f.field, label: f.label, value: typed.service[f.field], errors, hint: f.hint }))}</fieldset>
<div class="field">${checkbox({ name: 'introspect', label: 'Introspection', checked: typed.introspect })}<p class="hint">the client may ask whether a token is active (POST /oauth/introspect)</p></div>
<div class="actions"><button class="primary" type="submit">${mode === 'add' ? 'Add API access' : 'Save changes'}</button><a class="button" href="${CLIENTS_BASE}">Cancel</a></div>
</form>`;
}

/** A client the signed-in admin may not change: a config file entry, or any client for a read session. */
export function clientDetails(view: Record<string, unknown>, scope: string, why: string): SafeHtml {
  const grants = Array.isArray(view['grants']) ? view['grants'].map(String) : [];
  const yesNo = (grant: string) => (grants.includes(grant) ? 'yes' : 'no');
  return html`${notice('warning', why)}
<dl class="record">
<dt>Client id</dt><dd>${String(view['id'] ?? '')}</dd>
<dt>Description</dt><dd>${String(view['description'] ?? '') || '—'}</dd>
<dt>Scope</dt><dd>${scope}</dd>
<dt>Access token expiry</dt><dd>${shownDuration(view['accessTokenTtl'])}</dd>
<dt>Refresh token expiry</dt><dd>${shownDuration(view['refreshTokenTtl'])}</dd>
<dt>Password</dt><dd>${yesNo('password')}</dd>
<dt>Refresh token</dt><dd>${yesNo('refresh_token')}</dd>
<dt>Client credentials</dt><dd>${yesNo('client_credentials')}</dd>
<dt>Service identity</dt><dd>${serviceShown(view['serviceIdentity'])}</dd>
<dt>Introspection</dt><dd>${view['introspect'] === true ? 'yes' : 'no'}</dd>
<dt>Live grants</dt><dd>${String(view['liveGrants'] ?? 0)}</dd>
<dt>Source</dt><dd>${String(view['source'] ?? '')}</dd>
</dl>
<p><a href="${CLIENTS_BASE}">Back to API Access</a></p>`;
}

export const serviceNameOf = (identity: unknown): string => serviceTyped(identity).serviceName;

/** A service identity in one line: the name, then whichever attributes it has. */
export function serviceShown(identity: unknown): string {
  const typed = serviceTyped(identity);
  if (typed.serviceName === '') return '—';
  const attributes = [
    ['teams', typed.serviceTeams],
    ['organizations', typed.serviceOrganizations],
    ['features', typed.serviceFeatures],
  ].filter(([, list]) => list !== '');
  return attributes.length === 0 ? typed.serviceName : `${typed.serviceName} (${attributes.map(([name, list]) => `${name}: ${list}`).join('; ')})`;
}

/** The secret the proxy generated, shown this once: the store keeps only its hash. */
export function shownOnce(options: { label: string; secret: string; noun: string }): SafeHtml {
  return html`<section aria-labelledby="shown-title"><h2 id="shown-title">${options.label}</h2>
${notice('warning', `Copy the ${options.noun} now: it is shown only this once and cannot be read again. Whoever has it can use it.`)}
<div class="field secret"><label for="shown-secret">${options.label}</label>
<input id="shown-secret" type="text" value="${options.secret}" readonly autocomplete="off" spellcheck="false">
<button type="button" data-copy="shown-secret" data-status="shown-secret-status" hidden>Copy ${options.noun}</button>
<span id="shown-secret-status" role="status"></span></div></section>`;
}
