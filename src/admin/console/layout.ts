// The frame of every console page: landmarks, the skip link, the grid navigation with the current page marked,
// who is signed in (the admin token's name and role) and the sign-out button. Pages give their title and body.

import type { Response } from 'express';
import { html, type SafeHtml } from './html.js';
import type { ConsoleSession } from './session.js';

export const CONSOLE_BASE = '/console';

const NAV: readonly { id: string; label: string }[] = [
  { id: 'keys', label: 'API Keys' },
  { id: 'users', label: 'API Users' },
  { id: 'tokens', label: 'Tokens' },
  { id: 'clients', label: 'API Access' },
  { id: 'operators', label: 'Operators' },
  { id: 'audit', label: 'Audit' },
];

/** The hidden field every state-changing form carries. */
export const csrfField = (session: ConsoleSession): SafeHtml => html`<input type="hidden" name="_csrf" value="${session.csrf}">`;

export interface PageOptions {
  title: string;
  /** The navigation entry to mark as current. */
  current?: string;
  session?: ConsoleSession;
  body: SafeHtml;
  status?: number;
}

export function renderPage(options: PageOptions): string {
  const { session } = options;
  const nav = session
    ? html`<nav aria-label="Grids"><ul>${NAV.map((item) => html`<li><a href="${CONSOLE_BASE}/${item.id}"${item.id === options.current ? html` aria-current="page"` : ''}>${item.label}</a></li>`)}</ul></nav>
<div class="who"><span>Signed in as <strong>${session.name}</strong> (${session.role === 'manage' ? 'manage' : 'read only'})</span>
<form method="post" action="${CONSOLE_BASE}/sign-out">${csrfField(session)}<button type="submit">Sign out</button></form></div>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Portcullis console</title>
<link rel="icon" href="${CONSOLE_BASE}/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${CONSOLE_BASE}/assets/console.css">
<script type="module" src="${CONSOLE_BASE}/assets/console.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><span class="brand">Portcullis</span>${nav}</header>
<main id="main" tabindex="-1">
<h1>${options.title}</h1>
${options.body}
</main>
</body>
</html>`.text;
}

export function sendPage(res: Response, options: PageOptions): void {
  res.status(options.status ?? 200).type('html').send(renderPage(options));
}

/** A notice above a page's content: `role="status"` for news, `role="alert"` for problems. */
export const notice = (kind: 'ok' | 'error' | 'warning', content: SafeHtml | string): SafeHtml =>
  html`<div class="notice ${kind}" role="${kind === 'ok' ? 'status' : 'alert'}">${content}</div>`;
