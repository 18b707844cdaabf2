// The API Keys grid as the vendor's tab shows it: one row per key with its Read and Write sections as checkboxes.
// Only the page asked for is drawn (the service filters, sorts and pages), so ten thousand keys cost one page.
// A managed key's checkboxes, for a manage session, belong to a small form of their own in the row's actions
// cell (the `form` attribute ties inputs in other cells to it), so each row saves on its own, with its version.

import type { ConsoleSession } from '../session.js';
import { filterForm, type GridState, header, pager } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';
import { CONSOLE_BASE, csrfField } from '../layout.js';
import { liveOf, shownEnd, stateQuery } from './common.js';

export const KEYS_BASE = `${CONSOLE_BASE}/keys`;

export interface KeysGridOptions {
  rows: readonly Record<string, unknown>[];
  total: number;
  state: GridState;
  sections: readonly string[];
  session: ConsoleSession;
  manage: boolean;
}

const list = (row: Record<string, unknown>, name: string): string[] => (Array.isArray(row[name]) ? (row[name] as unknown[]).filter((s): s is string => typeof s === 'string') : []);

/** The row's Read or Write cell: a checkbox per section, each with an accessible name saying key, access and section. */
function permissionCell(row: Record<string, unknown>, access: 'read' | 'write', sections: readonly string[], formId: string | null): SafeHtml {
  const id = String(row['id']);
  const have = new Set(list(row, access));
  const word = access === 'read' ? 'Read' : 'Write';
  const boxes = sections.map(
    (section) =>
      html`<label><input type="checkbox" name="${access}" value="${section}"${formId ? html` form="${formId}"` : html` disabled`}${have.has(section) ? html` checked` : ''} aria-label="${word} ${section} of ${id}"> ${section}</label>`,
  );
  // Sections a key still names but the config dropped stay visible, and a save keeps them (the API refuses them).
  const extra = [...have].filter((s) => !sections.includes(s));
  const kept = extra.map((section) => html`<label><input type="checkbox" name="${access}" value="${section}"${formId ? html` form="${formId}"` : html` disabled`} checked aria-label="${word} ${section} of ${id} (not in the config)"> ${section}?</label>`);
  return html`<td><div class="perms">${boxes}${kept}</div></td>`;
}

function actionsCell(row: Record<string, unknown>, o: KeysGridOptions, formId: string | null): SafeHtml {
  const id = String(row['id']);
  if (formId === null) return html`<td>${row['source'] === 'config' ? html`<span class="muted">in the config file</span>` : ''}</td>`;
  const path = `${KEYS_BASE}/${encodeURIComponent(id)}`;
  const back = stateQuery(o.state);
  return html`<td><div class="actions">
<form id="${formId}" method="post" action="${path}/permissions${back}">${csrfField(o.session)}<input type="hidden" name="version" value="${String(row['version'])}"><button type="submit" aria-label="Save permissions of ${id}">Save permissions</button></form>
<a class="button" href="${path}/edit${back}" aria-label="Edit ${id}">Edit</a>
<a class="button" href="${path}/delete${back}" aria-label="Delete ${id}">Delete</a>
</div></td>`;
}

function row(r: Record<string, unknown>, o: KeysGridOptions): SafeHtml {
  const editable = o.manage && r['source'] === 'managed';
  // Key ids are lower-case letters, digits, "-" and "_" (the schema says so), so they make a safe element id.
  const formId = editable ? `perm-${String(r['id'])}` : null;
  const expired = r['expired'] === true;
  return html`<tr>
<td class="text">${String(r['description'] ?? '')}</td>
<th scope="row" class="mono">${String(r['id'])}</th>
${permissionCell(r, 'read', o.sections, formId)}
${permissionCell(r, 'write', o.sections, formId)}
<td>${shownEnd(r['expiresAt'])}${expired ? html` <strong>(expired)</strong>` : ''}</td>
<td>${r['tokenAuth'] === true ? 'Yes' : 'No'}</td>
<td>${liveOf(r)}</td>
<td>${r['source'] === 'config' ? 'Config file' : 'Managed'}</td>
${actionsCell(r, o, formId)}
</tr>`;
}

export function keysGrid(o: KeysGridOptions): SafeHtml {
  const h = (label: string, field?: string) => header(KEYS_BASE, o.state, field === undefined ? { label } : { label, field });
  return html`<div class="toolbar">${filterForm(KEYS_BASE, o.state, 'Filter keys')}
${o.manage ? html`<a class="button primary" href="${KEYS_BASE}/new${stateQuery(o.state)}">Add key</a>` : ''}</div>
<div class="grid-frame"><table>
<caption>API keys${o.state.q ? html` matching “${o.state.q}”` : ''}</caption>
<thead><tr>${h('Description', 'description')}${h('Id', 'id')}${h('Read', 'read')}${h('Write', 'write')}${h('Expires', 'expiresAt')}${h('Token auth', 'tokenAuth')}${h('Live sessions', 'liveSessions')}${h('Source', 'source')}${h('Actions')}</tr></thead>
<tbody>${o.rows.length === 0 ? html`<tr><td colspan="9">${o.state.q ? 'No key matches the filter.' : 'There are no API keys yet.'}</td></tr>` : o.rows.map((r) => row(r, o))}</tbody>
</table></div>
${pager(KEYS_BASE, o.state, o.total, 'API keys')}`;
}
