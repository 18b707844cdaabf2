// Filtering, sorting and paging of a grid's rows, the same for the JSON API (`?q=&sort=&order=&offset=&limit=`)
// and the console, so ten thousand keys are answered a page at a time.

export interface ListQuery {
  /** Kept when any shown text field contains it, case-insensitively. */
  q?: string;
  /** A field of the rows; the id field when absent or unknown. */
  sort?: string;
  order?: 'asc' | 'desc';
  offset?: number;
  /** All rows when absent. */
  limit?: number;
}

const searchable = (value: unknown): string => (Array.isArray(value) ? value.join(' ') : typeof value === 'string' ? value : '');

const compare = (a: unknown, b: unknown): number => {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // No before yes, off before on.
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
  if (b === null || b === undefined) return -1;
  return searchable(a).localeCompare(searchable(b)) || String(a).localeCompare(String(b));
};

/** How a column sorts when its shown value would sort wrongly (a lifetime shown as "1h30m"), or is derived. */
export type SortKeys = Readonly<Record<string, (row: Record<string, unknown>) => unknown>>;

export function pageOf(rows: Record<string, unknown>[], idField: string, query: ListQuery, sortKeys: SortKeys = {}): { rows: Record<string, unknown>[]; total: number } {
  const needle = query.q?.trim().toLowerCase();
  const kept = needle ? rows.filter((row) => Object.values(row).some((value) => searchable(value).toLowerCase().includes(needle))) : rows;
  const sort = query.sort;
  const field = sort !== undefined && (Object.hasOwn(sortKeys, sort) || rows.some((row) => Object.hasOwn(row, sort))) ? sort : idField;
  const valueOf = sortKeys[field] ?? ((row: Record<string, unknown>) => row[field]);
  const direction = query.order === 'desc' ? -1 : 1;
  kept.sort((a, b) => direction * compare(valueOf(a), valueOf(b)) || compare(a[idField], b[idField]));
  const offset = query.offset ?? 0;
  return { rows: query.limit === undefined ? kept.slice(offset) : kept.slice(offset, offset + query.limit), total: kept.length };
}

/** Reads a ListQuery from query-string values; null with a message when one is malformed. */
export function listQueryOf(values: Record<string, string | undefined>): ListQuery | string {
  const query: ListQuery = {};
  if (values['q'] !== undefined) query.q = values['q'];
  if (values['sort'] !== undefined) query.sort = values['sort'];
  if (values['order'] !== undefined) {
    if (values['order'] !== 'asc' && values['order'] !== 'desc') return 'order must be "asc" or "desc"';
    query.order = values['order'];
  }
  for (const name of ['offset', 'limit'] as const) {
    const text = values[name];
    if (text === undefined) continue;
    const n = Number(text);
    if (!/^\d{1,9}$/.test(text) || (name === 'limit' && n === 0)) return `${name} must be a whole number${name === 'limit' ? ' from 1' : ''}`;
    query[name] = n;
  }
  return query;
}
