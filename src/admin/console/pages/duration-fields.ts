// Token lifetimes as the vendor's API Access form asks for them: hours and minutes in two number fields under
// one legend, composed into the "XhYm" notation the admin API and the config file take, and shown in the grid as
// "1 h 30 min". The admin API is the one judge of whether a lifetime is acceptable (it refuses 0h0m); this file
// only refuses what cannot be composed at all, such as "abc" or 75 minutes.

import { parseDuration } from '../../../config/duration.js';
import type { FieldErrors, Problem } from '../forms.js';
import { html, type SafeHtml } from '../html.js';
import { value } from '../forms.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** What the two fields hold, as typed (kept as text so a 400 page shows exactly what the admin entered). */
export interface HoursMinutes {
  hours: string;
  minutes: string;
}

/** The fields' names in a form: `accessTokenTtl` → `accessTokenTtlHours` and `accessTokenTtlMinutes`. */
const names = (field: string) => ({ hours: `${field}Hours`, minutes: `${field}Minutes` });

/** The two fields of a submitted form. */
export function hoursMinutesOf(body: Record<string, unknown>, field: string): HoursMinutes {
  const n = names(field);
  return { hours: value(body, n.hours).trim(), minutes: value(body, n.minutes).trim() };
}

/** A lifetime as the API shows it ("1h30m", "1d", "90s") split for the form; days count as 24 hours. */
export function hoursMinutesFrom(duration: unknown): HoursMinutes {
  const ms = typeof duration === 'string' ? parseDuration(duration) : null;
  if (ms === null) return { hours: '', minutes: '' };
  return { hours: String(Math.floor(ms / HOUR_MS)), minutes: String(Math.floor((ms % HOUR_MS) / MINUTE_MS)) };
}

/**
 * The "XhYm" text for the API, or a problem for the field. An empty field counts as 0, so "2" hours and no
 * minutes is "2h0m"; both empty is "0h0m", which the API refuses with its own message.
 */
export function composeDuration(field: string, typed: HoursMinutes): { ok: true; text: string } | { ok: false; problem: Problem } {
  const hours = typed.hours === '' ? '0' : typed.hours;
  const minutes = typed.minutes === '' ? '0' : typed.minutes;
  if (!/^\d{1,5}$/.test(hours)) return { ok: false, problem: { path: field, message: 'enter the hours as a whole number, 0 or more' } };
  if (!/^\d{1,2}$/.test(minutes) || Number(minutes) > 59) return { ok: false, problem: { path: field, message: 'enter the minutes as a whole number from 0 to 59' } };
  return { ok: true, text: `${Number(hours)}h${Number(minutes)}m` };
}

/** "1 h 30 min" for the grid; seconds only appear when the config file wrote some. */
export function shownDuration(duration: unknown): string {
  const ms = typeof duration === 'string' ? parseDuration(duration) : null;
  if (ms === null) return '—';
  const hours = Math.floor(ms / HOUR_MS);
  const minutes = Math.floor((ms % HOUR_MS) / MINUTE_MS);
  const seconds = Math.floor((ms % MINUTE_MS) / 1000);
  const parts = [...(hours > 0 ? [`${hours} h`] : []), ...(minutes > 0 ? [`${minutes} min`] : []), ...(seconds > 0 ? [`${seconds} s`] : [])];
  return parts.length > 0 ? parts.join(' ') : '0 min';
}


/**
 * The hours and minutes fields under one legend. The fieldset carries the id `f-<field>` so the problem summary's
 * link lands on it, and the API's message for the lifetime is shown once, under both fields.
 */
export function durationFields(options: { field: string; legend: string; hint?: string; typed: HoursMinutes; errors: FieldErrors; disabled?: boolean }): SafeHtml {
  const { field, errors } = options;
  const n = names(field);
  const problems = errors.of(field);
  const invalid = problems.length > 0;
  const described = [...(options.hint ? [`h-${field}`] : []), ...(invalid ? [`e-${field}`] : [])].join(' ');
  const input = (name: string, label: string, typed: string, max?: number) => html`<span class="duration-part"><label for="f-${name}">${label}</label>
<input id="f-${name}" name="${name}" type="number" inputmode="numeric" min="0"${max === undefined ? '' : html` max="${max}"`} step="1" value="${typed}"${invalid ? html` aria-invalid="true"` : ''}${described ? html` aria-describedby="${described}"` : ''}${options.disabled ? html` disabled` : ''}></span>`;
  return html`<fieldset class="field${invalid ? ' invalid' : ''}" id="f-${field}"><legend>${options.legend}</legend>
${options.hint ? html`<p class="hint" id="h-${field}">${options.hint}</p>` : ''}
<div class="perms">${input(n.hours, 'Hours', options.typed.hours)}${input(n.minutes, 'Minutes', options.typed.minutes, 59)}</div>
${invalid ? html`<p class="field-error" id="e-${field}">${problems.join('; ')}</p>` : ''}</fieldset>`;
}
