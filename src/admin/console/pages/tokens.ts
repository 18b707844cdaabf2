// The console's Tokens page (/console/tokens), the vendor's Tokens tab: live PCR-360 sessions and OAuth grants,
// each filtered, sorted and paged on the server; ending one session or revoking one grant; and "force
// re-authentication" — every session of a key or a user, every grant of a client or an operator — behind a
// confirmation page that says how many will end. Every change goes through the same functions as the JSON
// admin API, so it is audited under the signed-in admin token's name exactly as an API call would be.

import type { Request, Response, Router } from 'express';
import { endSession, endSessionsOf, liveSessionsOf, type SessionScope } from '../../grids/sessions.js';
import { grantsOf, liveGrantsOf, revokeGrant, revokeGrantsOf, type GrantScope } from '../../grids/tokens.js';
import type { GridContext } from '../../grids/handler.js';
import { canManage, sessionOf, type ConsolePage } from '../context.js';
import { value } from '../forms.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, notice, sendPage } from '../layout.js';
import { pageParams, queryWith } from './tokens-grid.js';
import { GRANTS_GRID, grantScopeOf, grantsSection, SESSIONS_GRID, sessionScopeOf, sessionsSection, TOKENS_BASE } from './tokens-tables.js';

const SPECS = [SESSIONS_GRID, GRANTS_GRID];
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The Tokens page with both grids in the state the request's query names, and a notice above them after a change. */
async function showTokens(req: Request, res: Response, admin: GridContext, options: { notice?: SafeHtml; status?: number } = {}): Promise<void> {
  const params = pageParams(req, SPECS);
  const session = sessionOf(res);
  const manage = canManage(res);
  const [sessions, grants] = await Promise.all([
    liveSessionsOf(admin, sessionScopeOf(params)),
    grantsOf(admin, grantScopeOf(params)),
  ]);
  sendPage(res, {
    title: 'Tokens',
    current: 'tokens',
    session,
    status: options.status ?? 200,
    body: html`${options.notice ?? ''}
<p class="muted">Who is signed in through the proxy right now. Ending a session or revoking a grant takes effect on every process at the next request; the client must sign in again.</p>
${sessionsSection(sessions, params, session, manage)}
${grantsSection(grants, params, session, manage)}`,
  });
}

/** What a force-re-authentication form names: exactly one of its two fields, from the query (GET) or the form (POST). */
function scopeOf(source: Record<string, unknown>, names: readonly [string, string]): { name: string; value: string } | null {
  const given = names.map((name) => ({ name, value: value(source, name).trim() })).filter((field) => field.value !== '');
  return given.length === 1 ? given[0]! : null;
}

interface BulkKind {
  path: string;
  names: readonly [string, string];
  count(admin: GridContext, scope: { name: string; value: string }): Promise<number>;
  end(admin: GridContext, res: Response, scope: { name: string; value: string }): Promise<number>;
  noun: [string, string];
  verb: string;
}

/** "key "demo-rw"" — what a scope is called in sentences. */
const describeScope = (scope: { name: string; value: string }): string => `${scope.name} "${scope.value}"`;
/** Where "Cancel" goes: the grid filtered to the scope. */
const scopedGrid = (scope: { name: string; value: string }): string => TOKENS_BASE + queryWith(new Map(), { [scope.name]: scope.value });

const toSessionScope = (s: { name: string; value: string }): SessionScope => (s.name === 'key' ? { keyId: s.value } : { user: s.value });
const toGrantScope = (s: { name: string; value: string }): GrantScope => (s.name === 'client' ? { clientId: s.value } : { operator: s.value });

const BULK: readonly BulkKind[] = [
  {
    path: '/end-sessions',
    names: ['key', 'user'],
    count: async (admin, s) => (await liveSessionsOf(admin, toSessionScope(s))).length,
    end: async (admin, res, s) => (await endSessionsOf(admin, res, toSessionScope(s))).length,
    noun: ['session', 'sessions'],
    verb: 'End',
  },
  {
    path: '/revoke-grants',
    names: ['client', 'operator'],
    count: async (admin, s) => (await liveGrantsOf(admin, toGrantScope(s))).length,
    end: async (admin, res, s) => (await revokeGrantsOf(admin, res, toGrantScope(s))).length,
    noun: ['grant', 'grants'],
    verb: 'Revoke',
  },
];

export const tokensPage: ConsolePage = (router: Router, context) => {
  const admin = context.admin;

  router.get('/tokens', (req, res) => showTokens(req, res, admin));

  router.post('/tokens/sessions/:id/delete', async (req, res) => {
    const id = String(req.params['id']);
    const ended = await endSession(admin, res, id);
    await showTokens(req, res, admin, ended ? { notice: notice('ok', html`Session <span class="mono">${id}</span> ended; its client must sign in again.`) } : { status: 404, notice: notice('error', html`There is no live session <span class="mono">${id}</span>; it may have ended already.`) });
  });

  router.post('/tokens/grants/:id/revoke', async (req, res) => {
    const id = String(req.params['id']);
    const revoked = await revokeGrant(admin, res, id);
    await showTokens(req, res, admin, revoked ? { notice: notice('ok', html`Grant <span class="mono">${id}</span> revoked; its access and refresh tokens no longer work.`) } : { status: 404, notice: notice('error', html`There is no grant <span class="mono">${id}</span>; it may have expired.`) });
  });

  for (const kind of BULK) {
    const path = `/tokens${kind.path}`;
    const invalid = (res: Response) =>
      sendPage(res, { title: 'Force re-authentication', current: 'tokens', session: sessionOf(res), status: 400, body: html`${notice('error', `Name one ${kind.names[0]} or one ${kind.names[1]}.`)}<p><a href="${TOKENS_BASE}">Back to the tokens</a></p>` });

    // The confirmation: how many will end, then a POST button. A read session is told it may not, before it tries.
    router.get(path, async (req, res) => {
      const scope = scopeOf(req.query as Record<string, unknown>, kind.names);
      if (scope === null) return invalid(res);
      const session = sessionOf(res);
      const count = await kind.count(admin, scope);
      const what = describeScope(scope);
      const n = plural(count, kind.noun[0], kind.noun[1]);
      const form = canManage(res)
        ? html`<form method="post" action="${TOKENS_BASE}${kind.path}">${csrfField(session)}<input type="hidden" name="${scope.name}" value="${scope.value}">
<div class="actions"><button type="submit" class="danger" id="confirm-bulk">${kind.verb} ${n}</button> <a class="button" href="${scopedGrid(scope)}">Cancel</a></div></form>`
        : notice('warning', `The admin token "${session.name}" may only read.`);
      sendPage(res, {
        title: 'Force re-authentication',
        current: 'tokens',
        session,
        body: html`<p id="bulk-summary">${count === 0 ? `There are no live ${kind.noun[1]} of ${what}; nothing would end.` : `This ends ${n} of ${what}. Whoever uses ${count === 1 ? 'it' : 'them'} must sign in again.`}</p>
${count === 0 ? html`<p><a href="${scopedGrid(scope)}">Back to the tokens</a></p>` : form}`,
      });
    });

    router.post(path, async (req, res) => {
      const scope = scopeOf((req.body ?? {}) as Record<string, unknown>, kind.names);
      if (scope === null) return invalid(res);
      const ended = await kind.end(admin, res, scope);
      const message = `${kind.verb === 'End' ? 'Ended' : 'Revoked'} ${plural(ended, kind.noun[0], kind.noun[1])} of ${describeScope(scope)}.`;
      await showTokens(req, res, admin, { notice: notice('ok', message) });
    });
  }
};
