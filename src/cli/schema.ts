// `portcullis schema [--out FILE]`: prints the config file's JSON Schema (or writes it to FILE), for editors and
// for the copy under config/ that the example config points at.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { configJsonSchema } from '../config/json-schema.js';
import { KNOWN_AUTHENTICATOR_IDS } from '../faces/registry.js';

export function configSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(KNOWN_AUTHENTICATOR_IDS), null, 2)}\n`;
}

export async function runSchema(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true });
  const text = configSchemaText();
  if (values.out === undefined) process.stdout.write(text);
  else writeFileSync(values.out, text);
  return 0;
}
