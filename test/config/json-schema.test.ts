// The config's JSON Schema: the copy under config/ is what `portcullis schema` generates from the zod schema
// today (regenerate it with `npm run schema`), the example config points editors at it, and a JSON Schema
// validator other than zod accepts the example and refuses the mistakes operators make.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { parse } from 'yaml';
import { describe, expect, it, vi } from 'vitest';
import { configSchemaText, runSchema } from '../../src/cli/schema.js';

const CONFIG_DIR = fileURLToPath(new URL('../../config/', import.meta.url));
const committed = () => readFileSync(`${CONFIG_DIR}portcullis.schema.json`, 'utf8');
const example = () => readFileSync(`${CONFIG_DIR}example.yaml`, 'utf8');

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  // A CommonJS module whose function is also its own `default`, which is the one the types know.
  formats.default(ajv);
  return ajv.compile(JSON.parse(committed()) as object);
}

describe('the config JSON Schema', () => {
  it('is the copy under config/, as generated now (run "npm run schema" after changing the config schema)', () => {
    expect(committed(), 'config/portcullis.schema.json is stale: run "npm run schema"').toBe(configSchemaText());
  });

  it('is what "portcullis schema" prints', async () => {
    const written: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await runSchema([])).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(written.join('')).toBe(configSchemaText());
  });

  it('is named by the example config\'s first line, for editors', () => {
    expect(example().split('\n')[0]).toBe('# yaml-language-server: $schema=./portcullis.schema.json');
  });

  it('accepts the example config', () => {
    const validate = validator();
    expect(validate(parse(example())), JSON.stringify(validate.errors)).toBe(true);
  });

  it('refuses unknown keys, bad durations, unknown authenticators and plain-text secrets in the wrong shape', () => {
    const validate = validator();
    const base = parse(example()) as Record<string, Record<string, unknown>>;
    const broken: Array<[string, (config: Record<string, any>) => void]> = [
      ['unknown key', (c) => (c['listen']['prot'] = 8080)],
      ['duration', (c) => (c['upstream']['timeout'] = '5 minutes')],
      ['units out of order', (c) => (c['upstream']['timeout'] = '30m1h')],
      ['authenticator', (c) => (c['routes'][0]['authenticators'] = ['kerberos'])],
      ['secret source', (c) => (c['oauth']['clients'][0]['secret'] = { vault: 'x' })],
      ['port', (c) => (c['listen']['port'] = 70000)],
      ['store type', (c) => (c['store'] = { type: 'postgres' })],
      ['upstream url', (c) => (c['upstream']['url'] = 'not a url')],
    ];
    for (const [what, edit] of broken) {
      const config = structuredClone(base);
      edit(config);
      expect(validate(config), what).toBe(false);
    }
  });
});
