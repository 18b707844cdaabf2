// The admin console at /console/ on the admin listener: security headers on every answer, the assets, sign-in
// with an admin token and sign-out, then — for signed-in requests only — the grid pages. Every state-changing
// request must come from the console's own pages (same origin) and carry the session's CSRF token; a `read`
// token's session may look but never change anything.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { identifyAdminToken } from '../auth.js';
import type { Config } from '../../config/load.js';
import type { SecretVerifier } from '../../secrets/verifier.js';
import { CONSOLE_CSS } from './assets/console-css.js';
import { CONSOLE_ICON } from './assets/console-icon.js';
import { CONSOLE_JS } from './assets/console-js.js';
import type { ConsoleContext, ConsolePage } from './context.js';
import { html } from './html.js';
import { CONSOLE_BASE, notice, sendPage } from './layout.js';
import { csrfMatches, type ConsoleSessions } from './session.js';
import { signInPage } from './pages/sign-in.js';

export const SESSION_COOKIE = 'portcullis_console';
const SIGN_IN_COOKIE = 'portcullis_console_sign_in';

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // Not no-referrer: with it Chromium sends `Origin: null` on the console's own form posts.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface ConsoleDeps {
  context: ConsoleContext;
  sessions: ConsoleSessions;
  verifier: SecretVerifier;
  config(): Config;
  pages: readonly ConsolePage[];
}

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function cookie(req: Request, name: string, value: string, maxAgeSeconds: number): string {
  const secure = req.secure ? '; Secure' : '';
  return `${name}=${value}; Path=${CONSOLE_BASE}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}
const sessionCookie = (req: Request, value: string, maxAgeSeconds: number) => cookie(req, SESSION_COOKIE, value, maxAgeSeconds);
const preSessionCookie = (req: Request, value: string, maxAgeSeconds: number) => cookie(req, SIGN_IN_COOKIE, value, maxAgeSeconds);

function sameSecret(a: string | undefined, b: unknown): boolean {
  if (a === undefined || a === '' || typeof b !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A request from another site. Browsers say where a request comes from in Sec-Fetch-Site, which is believed when
 * present; older ones only send Origin. Tools that send neither are let through to the CSRF check.
 */
function crossSite(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.get('origin');
  return origin !== undefined && origin !== `${req.protocol}://${req.get('host')}`;
}

const refused = (res: Response, message: string, session = res.locals.console) =>
  sendPage(res, { title: 'Not allowed', status: 403, ...(session ? { session } : {}), body: notice('error', message) });

export function consoleRouter(deps: ConsoleDeps): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set(SECURITY_HEADERS);
    if (!deps.config().parsed.admin.console.enabled) return void res.status(404).type('text').send('the console is switched off (admin.console.enabled)');
    next();
  });
  router.get('/assets/console.css', (_req, res) => void res.type('text/css').send(CONSOLE_CSS));
  router.get('/assets/console.js', (_req, res) => void res.type('text/javascript').send(CONSOLE_JS));
  router.get('/assets/icon.svg', (_req, res) => void res.type('image/svg+xml').send(CONSOLE_ICON));
  router.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 }));
  router.use((req, res, next) => {
    if (req.method === 'POST' && crossSite(req)) return refused(res, 'This request came from another site and was refused.');
    next();
  });

  // Before there is a session, the sign-in form's CSRF token is a cookie it must match (double submit).
  router.get('/sign-in', (req, res) => {
    const csrf = randomBytes(24).toString('base64url');
    res.set('set-cookie', preSessionCookie(req, csrf, 600));
    signInPage(res, { csrf });
  });
  router.post('/sign-in', (req, res, next) => {
    const again = (problem: string, status: number) => {
      const csrf = randomBytes(24).toString('base64url');
      res.set('set-cookie', preSessionCookie(req, csrf, 600));
      signInPage(res, { csrf, problem, status });
    };
    if (!sameSecret(cookieOf(req, SIGN_IN_COOKIE), req.body?._csrf)) return again('The sign-in form had expired; enter the token again.', 403);
    const presented = typeof req.body?.token === 'string' ? (req.body.token as string) : '';
    if (presented === '' || presented.length > 1024) return again('Enter an admin token.', 400);
    identifyAdminToken(presented, deps.config().adminTokens, deps.verifier)
      .then(async (token) => {
        if (token === null) return again('That is not a valid admin token.', 401);
        const issued = await deps.sessions.issue(token);
        res.set('set-cookie', [sessionCookie(req, issued.value, issued.maxAgeSeconds), preSessionCookie(req, '', 0)]).redirect(303, `${CONSOLE_BASE}/keys`);
      })
      .catch(next);
  });

  // Everything below needs a live session.
  router.use((req: Request, res: Response, next: NextFunction) => {
    deps.sessions.verify(cookieOf(req, SESSION_COOKIE)).then((session) => {
      if (session === null) {
        // Expired or signed out: back to the sign-in form, which sets its own CSRF cookie.
        return res.redirect(303, `${CONSOLE_BASE}/sign-in`);
      }
      res.locals.console = session;
      // The admin API's audit trail names whoever is signed in, exactly as it names a bearer token.
      res.locals.admin = { name: session.name, role: session.role };
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        if (!csrfMatches(session, req.body?._csrf)) return refused(res, 'This form is missing its security token (CSRF); reload the page and try again.');
        if (session.role !== 'manage' && req.path !== '/sign-out') return refused(res, `The admin token "${session.name}" may only read.`);
      }
      next();
    }, next);
  });

  router.post('/sign-out', (req, res, next) => {
    deps.sessions.end(res.locals.console!).then(() => {
      res.set('set-cookie', sessionCookie(req, '', 0)).redirect(303, `${CONSOLE_BASE}/sign-in?signed-out=1`);
    }, next);
  });
  router.get(['/', ''], (_req, res) => res.redirect(303, `${CONSOLE_BASE}/keys`));
  for (const page of deps.pages) page(router, deps.context);
  router.use((_req, res) => sendPage(res, { title: 'Not found', status: 404, ...(res.locals.console ? { session: res.locals.console } : {}), body: html`<p>There is no such page. <a href="${CONSOLE_BASE}/keys">Back to the API keys.</a></p>` }));
  return router;
}
