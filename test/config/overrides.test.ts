// The command-line overrides: `--store` names each store kind, and the rest of the file is left alone.

import { describe, expect, it } from 'vitest';
import { applyOverrides } from '../../src/config/overrides.js';

describe('--store', () => {
  const file = { store: { type: 'memory', maxSessions: 5 }, listen: { port: 1 } };

  it('selects the memory store', () => {
    expect(applyOverrides(file, { store: 'memory' })).toEqual({ ...file, store: { type: 'memory' } });
  });

  it('selects a SQLite file with sqlite:FILE', () => {
    expect(applyOverrides(file, { store: 'sqlite:/var/lib/portcullis/state.db' })).toMatchObject({ store: { type: 'sqlite', path: '/var/lib/portcullis/state.db' } });
  });

  it('takes anything else as a Redis URL, for the schema to check', () => {
    expect(applyOverrides(file, { store: 'redis://cache:6379/2' })).toMatchObject({ store: { type: 'redis', url: 'redis://cache:6379/2' } });
    expect(applyOverrides(file, { store: 'rediss://cache:6380' })).toMatchObject({ store: { type: 'redis', url: 'rediss://cache:6380' } });
  });

  it('leaves the file untouched without the flag', () => {
    expect(applyOverrides(file, {})).toEqual(file);
  });
});
