// Turns a zod validation failure into the problems the admin API answers with: the same paths and messages the
// config file's validation gives, every problem at once, unknown fields named.

import type { z } from 'zod';
import { formatPath } from '../../config/interpolate.js';
import type { Outcome, Problem } from './definition.js';

export function problemsOf(error: z.ZodError, prefix: (string | number)[] = []): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path] as (string | number)[];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ path: formatPath([...path, key]), message: 'unknown field' });
    } else {
      problems.push({ path: formatPath(path), message: issue.message });
    }
  }
  return problems;
}

/** Parses `value` with `schema`; `extra` adds problems only a whole record can show (unknown sections...). */
export function validate<S extends z.ZodType>(schema: S, value: unknown, extra: Problem[] = []): Outcome<z.output<S>> {
  const parsed = schema.safeParse(value);
  const problems = parsed.success ? [...extra] : [...problemsOf(parsed.error), ...extra];
  return problems.length === 0 && parsed.success ? { ok: true, value: parsed.data } : { ok: false, problems };
}

/** Problems for fields present in `body` that this operation does not take, with the reason. */
export function refusedFields(body: Record<string, unknown>, refused: Record<string, string>): Problem[] {
  return Object.keys(refused)
    .filter((field) => Object.hasOwn(body, field))
    .map((field) => ({ path: field, message: refused[field]! }));
}

/** `body` without the fields already reported by `refusedFields`, so the schema does not report them again. */
export function without(body: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (!fields.includes(key)) rest[key] = value;
  return rest;
}
