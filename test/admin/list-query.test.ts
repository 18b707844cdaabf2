// Filtering, sorting and paging of grid rows, and reading those settings from a query string.

import { describe, expect, it } from 'vitest';
import { listQueryOf, pageOf } from '../../src/admin/managed/list-query.js';

const rows = () => [
  { id: 'b-key', description: 'Nightly export', read: ['services'], liveSessions: 2, expiresAt: null },
  { id: 'a-key', description: 'Dashboard', read: ['servicedesk', 'snmp'], liveSessions: 10, expiresAt: '2027-01-01T00:00:00.000Z' },
  { id: 'c-key', description: 'export of SNMP', read: [], liveSessions: 0, expiresAt: '2026-06-01T00:00:00.000Z' },
];

describe('pageOf', () => {
  it('sorts by the id field by default and counts every row', () => {
    const page = pageOf(rows(), 'id', {});
    expect(page.rows.map((r) => r['id'])).toEqual(['a-key', 'b-key', 'c-key']);
    expect(page.total).toBe(3);
  });

  it('filters case-insensitively over text and list fields, and counts what was kept', () => {
    expect(pageOf(rows(), 'id', { q: 'EXPORT' }).rows.map((r) => r['id'])).toEqual(['b-key', 'c-key']);
    expect(pageOf(rows(), 'id', { q: 'snmp' }).rows.map((r) => r['id'])).toEqual(['a-key', 'c-key']);
    expect(pageOf(rows(), 'id', { q: 'nothing like it' })).toEqual({ rows: [], total: 0 });
  });

  it('sorts numbers as numbers, either way, with empty values last', () => {
    expect(pageOf(rows(), 'id', { sort: 'liveSessions' }).rows.map((r) => r['id'])).toEqual(['c-key', 'b-key', 'a-key']);
    expect(pageOf(rows(), 'id', { sort: 'liveSessions', order: 'desc' }).rows.map((r) => r['id'])).toEqual(['a-key', 'b-key', 'c-key']);
    expect(pageOf(rows(), 'id', { sort: 'expiresAt' }).rows.map((r) => r['id'])).toEqual(['c-key', 'a-key', 'b-key']);
  });

  it('falls back to the id field for an unknown sort field', () => {
    expect(pageOf(rows(), 'id', { sort: 'password' }).rows.map((r) => r['id'])).toEqual(['a-key', 'b-key', 'c-key']);
  });

  it('pages with offset and limit, the total staying that of the filtered rows', () => {
    expect(pageOf(rows(), 'id', { offset: 1, limit: 1 })).toEqual({ rows: [rows()[0]], total: 3 });
    expect(pageOf(rows(), 'id', { offset: 5, limit: 10 })).toEqual({ rows: [], total: 3 });
  });

  it('pages ten thousand rows', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ id: `key-${String(i).padStart(5, '0')}`, description: i % 2 ? 'odd' : 'even' }));
    const page = pageOf(many, 'id', { q: 'odd', order: 'desc', offset: 0, limit: 50 });
    expect(page.total).toBe(5000);
    expect(page.rows[0]!['id']).toBe('key-09999');
    expect(page.rows).toHaveLength(50);
  });
});

describe('listQueryOf', () => {
  it('reads every setting', () => {
    expect(listQueryOf({ q: 'x', sort: 'description', order: 'desc', offset: '20', limit: '10' })).toEqual({ q: 'x', sort: 'description', order: 'desc', offset: 20, limit: 10 });
    expect(listQueryOf({})).toEqual({});
  });

  it('refuses malformed numbers and orders with a message', () => {
    for (const values of [{ limit: '0' }, { limit: '-1' }, { limit: 'ten' }, { offset: '1.5' }, { offset: '1e3' }, { order: 'up' }]) {
      expect(typeof listQueryOf(values), JSON.stringify(values)).toBe('string');
    }
  });
});

describe('pageOf with yes/no columns', () => {
  it('sorts false before true, and the other way round when descending', () => {
    const flags = [
      { id: 'a', tokenAuth: true },
      { id: 'b', tokenAuth: false },
      { id: 'c', tokenAuth: true },
    ];
    expect(pageOf(flags, 'id', { sort: 'tokenAuth' }).rows.map((r) => r['id'])).toEqual(['b', 'a', 'c']);
    expect(pageOf(flags, 'id', { sort: 'tokenAuth', order: 'desc' }).rows.map((r) => r['id'])).toEqual(['a', 'c', 'b']);
  });
});

describe('pageOf with sort keys', () => {
  it('sorts a column on its key, also a column no row shows', () => {
    const clients = [
      { id: 'a', accessTokenTtl: '1h', grants: ['password'] },
      { id: 'b', accessTokenTtl: '30m', grants: ['password', 'refresh_token'] },
      { id: 'c', accessTokenTtl: '1h30m', grants: [] as string[] },
    ];
    const keys = {
      accessTokenTtl: (row: Record<string, unknown>) => ({ '30m': 30, '1h': 60, '1h30m': 90 })[String(row['accessTokenTtl'])],
      refreshToken: (row: Record<string, unknown>) => (row['grants'] as string[]).includes('refresh_token'),
    };
    expect(pageOf(clients, 'id', { sort: 'accessTokenTtl' }, keys).rows.map((r) => r['id'])).toEqual(['b', 'a', 'c']);
    expect(pageOf(clients, 'id', { sort: 'refreshToken', order: 'desc' }, keys).rows.map((r) => r['id'])).toEqual(['b', 'a', 'c']);
  });
});
