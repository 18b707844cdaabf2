// The parts every console grid shares: the filter box, column headers that sort (with aria-sort for screen
// readers), and the pager. Paging, sorting and filtering happen on the server, so a grid of ten thousand keys
// sends one page of rows.

import type { Request } from 'express';
import type { ListQuery } from '../managed/list-query.js';
import { html, type SafeHtml } from './html.js';

export const PAGE_SIZE = 50;

export interface GridState {
  q: string;
  sort: string;
  order: 'asc' | 'desc';
  page: number;
}

export function gridState(req: Request, defaultSort: string): GridState {
  const text = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : '');
  const page = Number(text('page'));
  return {
    q: text('q').slice(0, 200),
    sort: /^[A-Za-z]{1,40}$/.test(text('sort')) ? text('sort') : defaultSort,
    order: text('order') === 'desc' ? 'desc' : 'asc',
    page: Number.isSafeInteger(page) && page >= 1 ? page : 1,
  };
}

export const listQuery = (state: GridState): ListQuery => ({ ...(state.q ? { q: state.q } : {}), sort: state.sort, order: state.order, offset: (state.page - 1) * PAGE_SIZE, limit: PAGE_SIZE });

const link = (base: string, state: GridState, change: Partial<GridState>): string => {
  const next = { ...state, ...change };
  const params = new URLSearchParams();
  if (next.q) params.set('q', next.q);
  params.set('sort', next.sort);
  params.set('order', next.order);
  if (next.page > 1) params.set('page', String(next.page));
  return `${base}?${params.toString()}`;
};

/** The search form above a grid. */
export function filterForm(base: string, state: GridState, label: string): SafeHtml {
  return html`<form method="get" action="${base}" role="search">
<div class="field"><label for="q">${label}</label><input id="q" name="q" type="search" value="${state.q}"></div>
<input type="hidden" name="sort" value="${state.sort}"><input type="hidden" name="order" value="${state.order}">
<button type="submit">Filter</button>${state.q ? html` <a href="${link(base, state, { q: '', page: 1 })}">Clear</a>` : ''}
</form>`;
}

/** A column header; sortable ones link to the grid sorted by them, the other way round when they already sort it. */
export function header(base: string, state: GridState, column: { label: string; field?: string }): SafeHtml {
  if (column.field === undefined) return html`<th scope="col">${column.label}</th>`;
  const active = state.sort === column.field;
  const order = active && state.order === 'asc' ? 'desc' : 'asc';
  const sortState = active ? (state.order === 'asc' ? 'ascending' : 'descending') : 'none';
  return html`<th scope="col" aria-sort="${sortState}"><a href="${link(base, state, { sort: column.field, order, page: 1 })}">${column.label}${active ? (state.order === 'asc' ? ' ▲' : ' ▼') : ''}</a></th>`;
}

export function pager(base: string, state: GridState, total: number, noun: string): SafeHtml {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const first = total === 0 ? 0 : (state.page - 1) * PAGE_SIZE + 1;
  const last = Math.min(total, state.page * PAGE_SIZE);
  return html`<nav class="pager" aria-label="Pages of ${noun}">
${state.page > 1 ? html`<a href="${link(base, state, { page: state.page - 1 })}" rel="prev">Previous</a>` : ''}
<span>${first}–${last} of ${total} ${noun}, page ${Math.min(state.page, pages)} of ${pages}</span>
${state.page < pages ? html`<a href="${link(base, state, { page: state.page + 1 })}" rel="next">Next</a>` : ''}
</nav>`;
}

/** A date as the admin reads it (UTC), or a dash. */
export const shownDate = (iso: unknown): string => (typeof iso === 'string' && iso !== '' ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC') : '—');
