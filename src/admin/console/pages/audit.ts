// The console's Audit page (/console/audit): the change log newest first, 50 entries a page, paged by sequence
// number with `?before=<seq>` as the JSON API pages it. Before/after/detail are shown as pretty JSON inside
// <details>, escaped like everything else (a record's description may hold markup). The entries carry no
// secret: the credential grids store hashes and leave even those out of the log.

import type { Router } from 'express';
import type { AuditEntry } from '../../../store/credentials.js';
import { iso } from '../../grids/views.js';
import { queryText, sessionOf, type ConsolePage } from '../context.js';
import { PAGE_SIZE, shownDate } from '../grid-table.js';
import { html, type SafeHtml } from '../html.js';
import { CONSOLE_BASE, notice, sendPage } from '../layout.js';

const AUDIT_BASE = `${CONSOLE_BASE}/audit`;

const pretty = (label: string, value: unknown): SafeHtml => html`<h3>${label}</h3><pre>${JSON.stringify(value, null, 2)}</pre>`;

function details(entry: AuditEntry): SafeHtml {
  const parts = [
    entry.before !== null ? pretty('Before', entry.before) : '',
    entry.after !== null ? pretty('After', entry.after) : '',
    entry.detail !== undefined ? pretty('Detail', entry.detail) : '',
  ];
  if (parts.every((part) => part === '')) return html`<span class="muted">—</span>`;
  const shown = [entry.before !== null && 'before', entry.after !== null && 'after', entry.detail !== undefined && 'detail'].filter(Boolean).join(', ');
  // The visible text starts the accessible name, so voice control users can say what they see.
  return html`<details><summary aria-label="Show ${shown} of change ${entry.seq}">Show ${shown}</summary>${parts}</details>`;
}

const row = (entry: AuditEntry): SafeHtml =>
  html`<tr id="audit-${entry.seq}"><td>${shownDate(iso(entry.at))}</td><td>${entry.actor}</td><td>${entry.action}</td><td>${entry.grid}</td><td class="text mono">${entry.target}</td><td class="text">${details(entry)}</td></tr>`;

export const auditPage: ConsolePage = (router: Router, context) => {
  const { store } = context.admin.services;

  router.get('/audit', async (req, res) => {
    const session = sessionOf(res);
    const beforeText = queryText(req, 'before');
    const before = beforeText === '' ? undefined : Number(beforeText);
    if (before !== undefined && (!/^\d{1,15}$/.test(beforeText) || !Number.isSafeInteger(before) || before < 1)) {
      return sendPage(res, { title: 'Audit', current: 'audit', session, status: 400, body: html`${notice('error', 'That is not a page of the change log.')}<p><a href="${AUDIT_BASE}">The newest changes</a></p>` });
    }
    // One entry more than a page tells whether an older page exists without a second query.
    const [found, newest] = await Promise.all([store.credentials.listAudit({ limit: PAGE_SIZE + 1, ...(before === undefined ? {} : { before }) }), before === undefined ? Promise.resolve([]) : store.credentials.listAudit({ limit: 1 })]);
    const entries = found.slice(0, PAGE_SIZE);
    const first = entries[0];
    const last = entries.at(-1);
    const older = found.length > PAGE_SIZE && last !== undefined ? `${AUDIT_BASE}?before=${last.seq}` : null;
    // The store pages only backwards, so the newer page is taken to start PAGE_SIZE seqs above this one's first
    // entry (seqs are handed out in order; a rare gap only makes the pages overlap), or is the newest page.
    const newestSeq = newest[0]?.seq;
    let newer: string | null = null;
    if (before !== undefined && newestSeq !== undefined) {
      const top = (first?.seq ?? before - 1) + PAGE_SIZE + 1;
      newer = top > newestSeq ? AUDIT_BASE : `${AUDIT_BASE}?before=${top}`;
    }
    sendPage(res, {
      title: 'Audit',
      current: 'audit',
      session,
      body: html`<p class="muted">Every change made through the admin API or this console, newest first, named by the admin token that made it.</p>
<div class="grid-frame"><table id="audit">
<caption>Change log${first !== undefined && last !== undefined ? `, changes ${last.seq}–${first.seq}` : ''}</caption>
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Grid</th><th scope="col">Target</th><th scope="col">Details</th></tr></thead>
<tbody>${entries.length === 0 ? html`<tr><td colspan="6" class="muted">${before === undefined ? 'No changes have been made yet.' : 'No older changes.'}</td></tr>` : entries.map(row)}</tbody>
</table></div>
<nav class="pager" aria-label="Pages of the change log">
${newer !== null ? html`<a href="${newer}" rel="prev" id="audit-newer">Newer</a>` : ''}
${older !== null ? html`<a href="${older}" rel="next" id="audit-older">Older</a>` : ''}
</nav>`,
    });
  });
};
