// The sign-in page: one field for an admin token, which is checked like a bearer token on the admin API and
// never shown again or kept; what stays is a console session in an HttpOnly cookie.

import type { Response } from 'express';
import { html } from '../html.js';
import { CONSOLE_BASE, notice, sendPage } from '../layout.js';

export function signInPage(res: Response, options: { csrf: string; problem?: string; status?: number }): void {
  const signedOut = res.req.query['signed-out'] === '1';
  const invalid = options.problem !== undefined;
  sendPage(res, {
    title: 'Sign in',
    status: options.status ?? 200,
    body: html`${signedOut && !invalid ? notice('ok', 'You are signed out.') : ''}
<form class="record" method="post" action="${CONSOLE_BASE}/sign-in">
<input type="hidden" name="_csrf" value="${options.csrf}">
<div class="field${invalid ? ' invalid' : ''}">
<label for="f-token">Admin token</label>
<p class="hint" id="h-token">An admin token from the config file (admin.tokens); a read token shows the grids without changing anything.</p>
<input id="f-token" name="token" type="password" required autocomplete="current-password" aria-describedby="h-token${invalid ? ' e-token' : ''}"${invalid ? html` aria-invalid="true"` : ''}>
${invalid ? html`<p class="field-error" id="e-token" role="alert">${options.problem}</p>` : ''}
</div>
<button class="primary" type="submit">Sign in</button>
</form>`,
  });
}
