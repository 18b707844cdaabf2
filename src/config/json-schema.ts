// The config file's JSON Schema, generated from the zod schema the loader validates with, so editors (through
// the `# yaml-language-server: $schema=` line) complete and check a file the way `portcullis check-config` will.
// It describes what is written in the file: durations as text, secrets as a hash or `{ env }` / `{ file }`. Checks
// zod makes in code (a route's authenticators, unique names, a hash's format) are left to the loader.

import { z } from 'zod';
import { configSchemaFor } from './schema.js';

export const CONFIG_SCHEMA_ID = 'https://portcullis.dev/schema/config.json';

export function configJsonSchema(authenticatorIds: readonly string[]): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchemaFor(authenticatorIds), { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return {
    ...generated,
    $id: CONFIG_SCHEMA_ID,
    title: 'Portcullis configuration',
    description: 'The YAML file `portcullis --config FILE` reads; every key is described in the README\'s config reference.',
  };
}
