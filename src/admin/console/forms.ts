// Form fields that show the admin API's problems next to the field they concern, keep what the admin typed, and
// tell screen readers which message belongs to which field.

import { html, type SafeHtml } from './html.js';

export interface Problem {
  path: string;
  message: string;
}

/** Problems by the form field they concern: `read[2]` → `read`, `sessions.lifetimeSeconds` stays whole. */
export class FieldErrors {
  readonly #byField = new Map<string, string[]>();

  constructor(problems: readonly Problem[] = [], fields: readonly string[] = []) {
    for (const problem of problems) {
      const whole = problem.path.replace(/\[\d+\]$/, '');
      const field = fields.includes(whole) ? whole : fields.find((f) => problem.path.startsWith(`${f}[`) || problem.path.startsWith(`${f}.`)) ?? '';
      this.#byField.set(field, [...(this.#byField.get(field) ?? []), field === '' ? `${problem.path}: ${problem.message}` : problem.message]);
    }
  }

  of(field: string): string[] {
    return this.#byField.get(field) ?? [];
  }

  /** Messages no field of the form shows. */
  get unplaced(): string[] {
    return this.of('');
  }

  get any(): boolean {
    return this.#byField.size > 0;
  }

  /** The summary at the top of a form, linking each message to its field. */
  summary(): SafeHtml {
    if (!this.any) return html``;
    const items = [...this.#byField].flatMap(([field, messages]) => messages.map((m) => (field === '' ? html`<li>${m}</li>` : html`<li><a href="#f-${field}">${field}</a>: ${m}</li>`)));
    return html`<div class="notice error" role="alert" tabindex="-1" id="problems"><p>The change was not saved:</p><ul>${items}</ul></div>`;
  }
}

const describedBy = (name: string, errors: FieldErrors, hint?: string) => {
  const ids = [...(hint ? [`h-${name}`] : []), ...(errors.of(name).length > 0 ? [`e-${name}`] : [])];
  return ids.length > 0 ? html` aria-describedby="${ids.join(' ')}"` : '';
};

const messages = (name: string, errors: FieldErrors) =>
  errors.of(name).length > 0 ? html`<p class="field-error" id="e-${name}">${errors.of(name).join('; ')}</p>` : '';

export function textField(options: { name: string; label: string; value: string; errors: FieldErrors; type?: string; hint?: string; required?: boolean; readonly?: boolean; autocomplete?: string }): SafeHtml {
  const { name, errors } = options;
  const invalid = errors.of(name).length > 0;
  return html`<div class="field${invalid ? ' invalid' : ''}"><label for="f-${name}">${options.label}</label>
${options.hint ? html`<p class="hint" id="h-${name}">${options.hint}</p>` : ''}
<input id="f-${name}" name="${name}" type="${options.type ?? 'text'}" value="${options.value}"${options.required ? html` required` : ''}${options.readonly ? html` readonly` : ''}${invalid ? html` aria-invalid="true"` : ''}${describedBy(name, errors, options.hint)} autocomplete="${options.autocomplete ?? 'off'}">
${messages(name, errors)}</div>`;
}

export function checkbox(options: { name: string; label: string; checked: boolean; value?: string; id?: string }): SafeHtml {
  const id = options.id ?? `f-${options.name}`;
  return html`<div class="check"><input type="checkbox" id="${id}" name="${options.name}" value="${options.value ?? 'on'}"${options.checked ? html` checked` : ''}><label for="${id}">${options.label}</label></div>`;
}

/** A group of checkboxes, one per option, under one legend and one error message. */
export function checkboxGroup(options: { name: string; legend: string; choices: readonly string[]; checked: ReadonlySet<string>; errors: FieldErrors }): SafeHtml {
  const { name, errors } = options;
  return html`<fieldset class="field${errors.of(name).length > 0 ? ' invalid' : ''}" id="f-${name}"${describedBy(name, errors)}><legend>${options.legend}</legend>
${options.choices.map((choice) => checkbox({ name, label: choice, value: choice, checked: options.checked.has(choice), id: `f-${name}-${choice}` }))}
${messages(name, errors)}</fieldset>`;
}

/** Every value of a form field (checkbox groups, repeated fields), whatever the body parser made of it. */
export function values(body: Record<string, unknown>, name: string): string[] {
  const value = body[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

export function value(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  return typeof v === 'string' ? v : '';
}

/** A comma-separated list typed into one field, as the API's array. */
export const listOf = (text: string): string[] =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
