// The Add key and Edit key form of the API Keys page: what the admin typed, read from the posted form and turned
// into the admin API's body, and the form drawn again with it and with each problem next to its field. The key
// itself is never a field: the proxy generates it and shows it once.

import type { ConsoleSession } from '../session.js';
import { checkbox, checkboxGroup, FieldErrors, textField, value, values } from '../forms.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField } from '../layout.js';
import { endFieldType, endFieldValue, endHint } from './common.js';

/** The form's fields, named as the API paths its problems come back with. */
export const KEY_FIELDS = ['id', 'description', 'read', 'write', 'expiresAt', 'tokenAuth', 'sessions', 'sessions.lifetimeSeconds', 'sessions.activitySeconds'] as const;

export interface KeyFormValues {
  id: string;
  description: string;
  read: string[];
  write: string[];
  /** "YYYY-MM-DD" (the last day), an exact instant, or '' for never. */
  expiresAt: string;
  tokenAuth: boolean;
  lifetime: string;
  activity: string;
}

export const emptyKey = (): KeyFormValues => ({ id: '', description: '', read: [], write: [], expiresAt: '', tokenAuth: false, lifetime: '', activity: '' });

export function keyValuesOfBody(body: Record<string, unknown>): KeyFormValues {
  return {
    id: value(body, 'id').trim(),
    description: value(body, 'description'),
    read: values(body, 'read'),
    write: values(body, 'write'),
    expiresAt: value(body, 'expiresAt').trim(),
    tokenAuth: value(body, 'tokenAuth') === 'on',
    lifetime: value(body, 'sessions.lifetimeSeconds').trim(),
    activity: value(body, 'sessions.activitySeconds').trim(),
  };
}

const seconds = (n: unknown): string => (typeof n === 'number' ? String(n) : '');

/** An API view of a key, as the edit form starts. */
export function keyValuesOfRow(row: Record<string, unknown>): KeyFormValues {
  const sessions = (row['sessions'] ?? {}) as Record<string, unknown>;
  const list = (name: string) => (Array.isArray(row[name]) ? (row[name] as unknown[]).filter((s): s is string => typeof s === 'string') : []);
  return {
    id: String(row['id'] ?? ''),
    description: typeof row['description'] === 'string' ? row['description'] : '',
    read: list('read'),
    write: list('write'),
    expiresAt: endFieldValue(row['expiresAt']),
    tokenAuth: row['tokenAuth'] === true,
    lifetime: seconds(sessions['lifetimeSeconds']),
    activity: seconds(sessions['activitySeconds']),
  };
}

/** Whole numbers become numbers; anything else goes as typed, so the API names the problem with its own message. */
const secondsOf = (text: string): unknown => (/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text);

/** The API body. An empty date or empty session limits mean "none" — on an edit that clears what was there. */
export function keyBody(v: KeyFormValues, mode: 'create' | 'edit'): Record<string, unknown> {
  const sessions = { ...(v.lifetime ? { lifetimeSeconds: secondsOf(v.lifetime) } : {}), ...(v.activity ? { activitySeconds: secondsOf(v.activity) } : {}) };
  const hasSessions = Object.keys(sessions).length > 0;
  const body: Record<string, unknown> = { description: v.description, read: v.read, write: v.write, tokenAuth: v.tokenAuth };
  if (mode === 'create') {
    body['id'] = v.id;
    if (v.expiresAt) body['expiresAt'] = v.expiresAt;
    if (hasSessions) body['sessions'] = sessions;
  } else {
    body['expiresAt'] = v.expiresAt || null;
    body['sessions'] = hasSessions ? sessions : null;
  }
  return body;
}

export interface KeyFormOptions {
  mode: 'create' | 'edit';
  values: KeyFormValues;
  errors: FieldErrors;
  sections: readonly string[];
  /** pcr.sessions, what empty limits fall back to. */
  defaults: { lifetimeSeconds: number; activitySeconds: number } | undefined;
  action: string;
  back: string;
  session: ConsoleSession;
  version?: unknown;
  /** A notice above the form (a stale version, a key declared in the file). */
  problem?: SafeHtml;
}

export function keyForm(o: KeyFormOptions): SafeHtml {
  const { values: v, errors } = o;
  // A section the key has but the config no longer lists stays visible, so saving never drops it unseen.
  const choices = [...new Set([...o.sections, ...v.read, ...v.write])];
  const fallback = (name: 'lifetimeSeconds' | 'activitySeconds') => (o.defaults ? `Empty: the default from pcr.sessions (${o.defaults[name]} seconds). 0 means no limit.` : 'Empty: the default from pcr.sessions. 0 means no limit.');
  const sessionErrors = errors.of('sessions');
  return html`${o.problem ?? ''}${errors.summary()}
<form class="record" method="post" action="${o.action}" novalidate>${csrfField(o.session)}
${o.mode === 'edit' ? html`<input type="hidden" name="version" value="${String(o.version ?? '')}"><p>Key id: <strong class="mono">${v.id}</strong> (the id and the key itself cannot be changed)</p>` : textField({ name: 'id', label: 'Id', value: v.id, errors, required: true, hint: 'Lower-case letters, digits, "-" and "_"; it names the key in logs and audit entries. The key itself is generated.' })}
${textField({ name: 'description', label: 'Description', value: v.description, errors })}
${checkboxGroup({ name: 'read', legend: 'Read', choices, checked: new Set(v.read), errors })}
${checkboxGroup({ name: 'write', legend: 'Write', choices, checked: new Set(v.write), errors })}
${textField({ name: 'expiresAt', label: 'Expires', type: endFieldType(v.expiresAt), value: v.expiresAt, errors, hint: endHint('The last day the key works (through the end of that day, UTC).', o.mode === 'edit' ? 'Clear it so the key never expires.' : 'Empty: it never expires.', v.expiresAt) })}
<div class="field${errors.of('tokenAuth').length > 0 ? ' invalid' : ''}">${checkbox({ name: 'tokenAuth', label: 'Token authentication (callers log in with an API user and send PCR-AUTH-TOKEN)', checked: v.tokenAuth })}
${errors.of('tokenAuth').length > 0 ? html`<p class="field-error" id="e-tokenAuth">${errors.of('tokenAuth').join('; ')}</p>` : ''}</div>
<fieldset class="field${sessionErrors.length > 0 ? ' invalid' : ''}" id="f-sessions"><legend>Session limits (token authentication)</legend>
${textField({ name: 'sessions.lifetimeSeconds', label: 'Session lifetime, seconds', type: 'number', value: v.lifetime, errors, hint: fallback('lifetimeSeconds') })}
${textField({ name: 'sessions.activitySeconds', label: 'Session activity timeout, seconds', type: 'number', value: v.activity, errors, hint: fallback('activitySeconds') })}
${sessionErrors.length > 0 ? html`<p class="field-error" id="e-sessions">${sessionErrors.join('; ')}</p>` : ''}</fieldset>
<div class="actions"><button class="primary" type="submit">${o.mode === 'create' ? 'Add key' : 'Save key'}</button> <a class="button" href="${o.back}">Cancel</a></div>
</form>`;
}

export const keyErrors = (problems: readonly { path: string; message: string }[]): FieldErrors => new FieldErrors(problems, KEY_FIELDS);
