// Paging, sorting and filtering for the two grids of the Tokens page. grid-table.ts serves pages with one grid,
// whose state is `q`, `sort`, `order` and `page`; here each grid has its own prefixed parameters (`sq`, `ssort`…
// for sessions, `gq`, `gsort`… for grants) plus its own filters, and every link keeps the other grid's state, so
// paging the grants does not send the sessions back to page one.

import type { Request } from 'express';
import type { ListQuery } from '../../managed/list-query.js';
import { PAGE_SIZE } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';

export interface GridSpec {
  /** Prefix of the grid's q/sort/order/page parameters. */
  prefix: string;
  /** What the grid's rows are called ("sessions"). */
  noun: string;
  /** Fields the headers may sort by; anything else in `?sort=` falls back to the default. */
  sortable: readonly string[];
  defaultSort: string;
  defaultOrder: 'asc' | 'desc';
  /** Exact-match filters the store applies, by parameter name. */
  filters: readonly { name: string; label: string }[];
}

export interface GridState {
  q: string;
  sort: string;
  order: 'asc' | 'desc';
  page: number;
  filters: Record<string, string>;
}

/** Every parameter the Tokens page understands, as it came: the state both grids' links carry. */
export type PageParams = ReadonlyMap<string, string>;

const textOf = (req: Request, name: string): string => {
  const value = req.query[name];
  return typeof value === 'string' ? value.slice(0, 200) : '';
};

export function pageParams(req: Request, specs: readonly GridSpec[]): PageParams {
  const params = new Map<string, string>();
  for (const spec of specs) {
    for (const name of [...['q', 'sort', 'order', 'page'].map((p) => spec.prefix + p), ...spec.filters.map((f) => f.name)]) {
      const value = textOf(req, name).trim();
      if (value !== '') params.set(name, value);
    }
  }
  return params;
}

export function stateOf(params: PageParams, spec: GridSpec): GridState {
  const get = (name: string) => params.get(spec.prefix + name) ?? '';
  const page = Number(get('page'));
  const order = get('order');
  return {
    q: get('q'),
    sort: spec.sortable.includes(get('sort')) ? get('sort') : spec.defaultSort,
    order: order === 'asc' || order === 'desc' ? order : spec.defaultOrder,
    page: Number.isSafeInteger(page) && page >= 1 ? page : 1,
    filters: Object.fromEntries(spec.filters.map((f) => [f.name, params.get(f.name) ?? ''])),
  };
}

export const listQueryOf = (state: GridState): ListQuery => ({ ...(state.q ? { q: state.q } : {}), sort: state.sort, order: state.order, offset: (state.page - 1) * PAGE_SIZE, limit: PAGE_SIZE });

/** The page's query string with some parameters changed ('' removes one); starts with '?' unless empty. */
export function queryWith(params: PageParams, change: Record<string, string>): string {
  const next = new URLSearchParams();
  const merged = new Map(params);
  for (const [name, value] of Object.entries(change)) merged.set(name, value);
  for (const [name, value] of merged) if (value !== '' && !(name.endsWith('page') && value === '1')) next.set(name, value);
  const text = next.toString();
  return text === '' ? '' : `?${text}`;
}

/** The filter form of one grid; hidden fields keep the other grid's state. Field ids carry the prefix, so both forms can share a page. */
export function filterForm(base: string, params: PageParams, spec: GridSpec, state: GridState): SafeHtml {
  const own = new Set([spec.prefix + 'q', spec.prefix + 'page', ...spec.filters.map((f) => f.name)]);
  const kept = [...params].filter(([name]) => !own.has(name));
  const field = (id: string, name: string, label: string, value: string, type = 'text') =>
    html`<div class="field"><label for="${id}">${label}</label><input id="${id}" name="${name}" type="${type}" value="${value}"></div>`;
  const active = state.q !== '' || Object.values(state.filters).some((v) => v !== '');
  const cleared = Object.fromEntries([...own].map((name) => [name, '']));
  return html`<form method="get" action="${base}" role="search" aria-label="Filter ${spec.noun}">
${spec.filters.map((f) => field(`f-${f.name}`, f.name, f.label, state.filters[f.name] ?? ''))}
${field(`f-${spec.prefix}q`, `${spec.prefix}q`, 'Text', state.q, 'search')}
${kept.map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<button type="submit" id="filter-${spec.noun}">Filter ${spec.noun}</button>${active ? html` <a href="${base}${queryWith(params, cleared)}">Clear</a>` : ''}
</form>`;
}

/** A column header; sortable ones link to the grid sorted by them, the other way round when they already sort it. */
export function header(base: string, params: PageParams, spec: GridSpec, state: GridState, column: { label: string; field?: string }): SafeHtml {
  if (column.field === undefined) return html`<th scope="col">${column.label}</th>`;
  const active = state.sort === column.field;
  const order = active && state.order === 'asc' ? 'desc' : 'asc';
  const sortState = active ? (state.order === 'asc' ? 'ascending' : 'descending') : 'none';
  const href = base + queryWith(params, { [`${spec.prefix}sort`]: column.field, [`${spec.prefix}order`]: order, [`${spec.prefix}page`]: '' });
  return html`<th scope="col" aria-sort="${sortState}"><a href="${href}">${column.label}${active ? (state.order === 'asc' ? ' ▲' : ' ▼') : ''}</a></th>`;
}

export function pager(base: string, params: PageParams, spec: GridSpec, state: GridState, total: number): SafeHtml {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const first = total === 0 ? 0 : (state.page - 1) * PAGE_SIZE + 1;
  const last = Math.min(total, state.page * PAGE_SIZE);
  const to = (page: number) => base + queryWith(params, { [`${spec.prefix}page`]: String(page) });
  return html`<nav class="pager" aria-label="Pages of ${spec.noun}">
${state.page > 1 ? html`<a href="${to(state.page - 1)}" rel="prev">Previous ${spec.noun}</a>` : ''}
<span>${first}–${last} of ${total} ${spec.noun}, page ${Math.min(state.page, pages)} of ${pages}</span>
${state.page < pages ? html`<a href="${to(state.page + 1)}" rel="next">Next ${spec.noun}</a>` : ''}
</nav>`;
}
