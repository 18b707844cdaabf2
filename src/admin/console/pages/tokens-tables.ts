// The two grids of the Tokens page — live PCR-360 sessions and OAuth grants — each with its filter, sortable
// headers, pager, a delete/revoke button per row and the "force re-authentication" forms. Buttons that change
// anything are left out for a read-only session (the guard refuses their POSTs anyway).

import type { SessionScope } from '../../grids/sessions.js';
import type { GrantScope } from '../../grids/tokens.js';
import { familyView, sessionView } from '../../grids/views.js';
import { pageOf } from '../../managed/list-query.js';
import type { SessionRecord, TokenFamilyRecord } from '../../../store/store.js';
import { shownDate } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';
import { CONSOLE_BASE, csrfField } from '../layout.js';
import type { ConsoleSession } from '../session.js';
import { filterForm, header, listQueryOf, pager, queryWith, stateOf, type GridSpec, type PageParams } from './tokens-grid.js';

export const TOKENS_BASE = `${CONSOLE_BASE}/tokens`;

export const SESSIONS_GRID: GridSpec = {
  prefix: 's',
  noun: 'sessions',
  sortable: ['id', 'keyId', 'user', 'createdAt', 'lastActivity', 'expiresAt', 'idleTimeoutSeconds', 'idleExpiresAt'],
  defaultSort: 'createdAt',
  defaultOrder: 'desc',
  filters: [
    { name: 'key', label: 'Key id' },
    { name: 'user', label: 'API user' },
  ],
};

export const GRANTS_GRID: GridSpec = {
  prefix: 'g',
  noun: 'grants',
  sortable: ['id', 'clientId', 'operator', 'createdAt', 'lastUsedAt', 'accessExpiresAt', 'refreshExpiresAt', 'revokedAt'],
  defaultSort: 'createdAt',
  defaultOrder: 'desc',
  filters: [
    { name: 'client', label: 'Client id' },
    { name: 'operator', label: 'Operator' },
  ],
};

/** The store filters the grids' filter fields stand for ('' means no filter). */
export const sessionScopeOf = (params: PageParams): SessionScope => ({ keyId: params.get('key') || undefined, user: params.get('user') || undefined });
export const grantScopeOf = (params: PageParams): GrantScope => ({ clientId: params.get('client') || undefined, operator: params.get('operator') || undefined });

const idle = (seconds: unknown): string => {
  if (typeof seconds !== 'number' || seconds <= 0) return 'none';
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
};

/** One small POST form: the row's action, with the grid state in the action's query so the answer shows the same page. */
const postButton = (session: ConsoleSession, action: string, label: string, ariaLabel: string, id: string): SafeHtml =>
  html`<form method="post" action="${action}">${csrfField(session)}<button type="submit" class="danger" id="${id}" aria-label="${ariaLabel}">${label}</button></form>`;

/** A GET form that leads to a confirmation page; nothing ends until that page's button is pressed. */
const scopeForm = (action: string, name: string, label: string, value: string, button: string, id: string): SafeHtml =>
  html`<form method="get" action="${action}"><div class="field"><label for="f-${id}">${label}</label><input id="f-${id}" name="${name}" type="text" value="${value}" required></div><button type="submit" id="${id}">${button}</button></form>`;

/** One grid of the Tokens page: heading, filter, the force re-authentication forms (manage only), table and pager. */
function tokensSection(o: {
  id: string;
  heading: string;
  spec: GridSpec;
  params: PageParams;
  manage: boolean;
  views: Record<string, unknown>[];
  columns: { label: string; field: string }[];
  /** A table row; `keep` is the grids' state as a query, for the row's POST action. */
  row(view: Record<string, unknown>, keep: string): SafeHtml;
  empty: string;
  caption: SafeHtml;
  scopeLabel: string;
  scopeForms: [SafeHtml, SafeHtml];
}): SafeHtml {
  const state = stateOf(o.params, o.spec);
  const { rows, total } = pageOf(o.views, 'id', listQueryOf(state));
  const keep = queryWith(o.params, {});
  const columns: { label: string; field?: string }[] = [...o.columns, ...(o.manage ? [{ label: 'Actions' }] : [])];
  return html`<section aria-labelledby="${o.id}-heading">
<h2 id="${o.id}-heading">${o.heading}</h2>
<div class="toolbar">${filterForm(TOKENS_BASE, o.params, o.spec, state)}</div>
${o.manage ? html`<div class="toolbar" role="group" aria-label="${o.scopeLabel}">
${o.scopeForms[0]}
${o.scopeForms[1]}
</div>` : ''}
<div class="grid-frame"><table id="${o.id}">
<caption>${o.caption}</caption>
<thead><tr>${columns.map((c) => header(TOKENS_BASE, o.params, o.spec, state, c))}</tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="${columns.length}" class="muted">${o.empty}${state.q ? ' match the filter' : ''}.</td></tr>` : rows.map((row) => o.row(row, keep))}</tbody>
</table></div>
${pager(TOKENS_BASE, o.params, o.spec, state, total)}
</section>`;
}

export function sessionsSection(records: SessionRecord[], params: PageParams, session: ConsoleSession, manage: boolean): SafeHtml {
  const { keyId, user } = sessionScopeOf(params);
  return tokensSection({
    id: 'sessions',
    heading: 'PCR-360 sessions',
    spec: SESSIONS_GRID,
    params,
    manage,
    views: records.map(sessionView),
    columns: [
      { label: 'Session id', field: 'id' },
      { label: 'Key', field: 'keyId' },
      { label: 'User', field: 'user' },
      { label: 'Created', field: 'createdAt' },
      { label: 'Last activity', field: 'lastActivity' },
      { label: 'Expires', field: 'expiresAt' },
      { label: 'Idle timeout', field: 'idleTimeoutSeconds' },
      { label: 'Idle expiry', field: 'idleExpiresAt' },
    ],
    row: (row, keep) => {
      const id = String(row['id']);
      return html`<tr><td class="mono">${id}</td><td>${row['keyId']}</td><td>${row['user']}</td><td>${shownDate(row['createdAt'])}</td><td>${shownDate(row['lastActivity'])}</td><td>${row['expiresAt'] === null ? 'never' : shownDate(row['expiresAt'])}</td><td>${idle(row['idleTimeoutSeconds'])}</td><td>${shownDate(row['idleExpiresAt'])}</td>${
        manage ? html`<td><div class="actions">${postButton(session, `${TOKENS_BASE}/sessions/${encodeURIComponent(id)}/delete${keep}`, 'Delete', `Delete session ${id}`, `delete-session-${id}`)}</div></td>` : ''
      }</tr>`;
    },
    empty: 'No live sessions',
    caption: html`Live sessions${keyId ? html` of key ${keyId}` : ''}${user ? html` of user ${user}` : ''}`,
    scopeLabel: 'Force re-authentication of PCR-360 clients',
    scopeForms: [
      scopeForm(`${TOKENS_BASE}/end-sessions`, 'key', 'End sessions of key', keyId ?? '', 'End all sessions of a key…', 'end-key-sessions'),
      scopeForm(`${TOKENS_BASE}/end-sessions`, 'user', 'End sessions of user', user ?? '', 'End all sessions of a user…', 'end-user-sessions'),
    ],
  });
}

export function grantsSection(records: TokenFamilyRecord[], params: PageParams, session: ConsoleSession, manage: boolean): SafeHtml {
  const { clientId, operator } = grantScopeOf(params);
  return tokensSection({
    id: 'grants',
    heading: 'OAuth grants',
    spec: GRANTS_GRID,
    params,
    manage,
    views: records.map(familyView),
    columns: [
      { label: 'Grant id', field: 'id' },
      { label: 'Client', field: 'clientId' },
      { label: 'Operator', field: 'operator' },
      { label: 'Created', field: 'createdAt' },
      { label: 'Last used', field: 'lastUsedAt' },
      { label: 'Access expiry', field: 'accessExpiresAt' },
      { label: 'Refresh expiry', field: 'refreshExpiresAt' },
      { label: 'Revoked', field: 'revokedAt' },
    ],
    row: (row, keep) => {
      const id = String(row['id']);
      const revoked = row['revokedAt'] !== null;
      return html`<tr><td class="mono">${id}</td><td>${row['clientId']}</td><td>${row['operator']}</td><td>${shownDate(row['createdAt'])}</td><td>${shownDate(row['lastUsedAt'])}</td><td>${shownDate(row['accessExpiresAt'])}</td><td>${row['refreshExpiresAt'] === null ? 'no refresh token' : shownDate(row['refreshExpiresAt'])}</td><td>${revoked ? shownDate(row['revokedAt']) : 'no'}</td>${
        manage ? html`<td><div class="actions">${revoked ? html`<span class="muted">revoked</span>` : postButton(session, `${TOKENS_BASE}/grants/${encodeURIComponent(id)}/revoke${keep}`, 'Revoke', `Revoke grant ${id}`, `revoke-grant-${id}`)}</div></td>` : ''
      }</tr>`;
    },
    empty: 'No grants',
    caption: html`Grants (token families)${clientId ? html` of client ${clientId}` : ''}${operator ? html` of operator ${operator}` : ''}; revoked ones stay listed until they expire`,
    scopeLabel: 'Force re-authentication of OAuth clients',
    scopeForms: [
      scopeForm(`${TOKENS_BASE}/revoke-grants`, 'client', 'Revoke grants of client', clientId ?? '', 'Revoke all grants of a client…', 'revoke-client-grants'),
      scopeForm(`${TOKENS_BASE}/revoke-grants`, 'operator', 'Revoke grants of operator', operator ?? '', 'Revoke all grants of an operator…', 'revoke-operator-grants'),
    ],
  });
}
