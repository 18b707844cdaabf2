// The optional plain-HTTP listener beside the TLS one (`listen.httpRedirect`): it serves nothing and forwards
// nothing, it only sends browsers that typed http:// to the https origin.
//
// The rule, decided once for every route: a request is redirected (308, so method and body semantics stay) only
// when it carries nothing worth protecting —
//   - method GET or HEAD, and no body (no Content-Length above 0, no Transfer-Encoding);
//   - no credential header: Authorization, Proxy-Authorization, any PCR-AUTH-* header, or any other header the
//     running config treats as a client credential;
//   - a path that is none of the proxy's own endpoints (token, revoke, introspect, JWKS, metadata, PCR-360 login
//     and logout, health, forward-auth) and that carries no credential (a PCR-360 key in the path).
// Everything else is refused with 400 `https_required`. A credential that has already crossed the network in plain
// text must not then work silently through a redirect: the client has to be fixed, and the refusal says how.
// Cookies do not count: browsers send them unasked, and the redirect never passes them on (a portal's session
// cookie belongs behind the `Secure` attribute, which keeps it off plain HTTP in the first place).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config/load.js';
import { parseRequestTarget, type RequestTarget } from '../target/request-target.js';
import { canonicalHeaderName } from '../rewrite/sanitize-headers.js';
import { answerClientError } from './client-errors.js';
import { applyListenerLimits } from './public-listener.js';

type ListenConfig = Config['parsed']['listen'];

/** What the redirect listener asks of the running config (the pipeline's runtime answers it). */
export interface PlainTextJudge {
  ownEndpointAt(target: RequestTarget): unknown;
  pathCarriesCredential(target: RequestTarget): boolean;
  forwardAuth: { serves(path: string): boolean } | null;
  headerPolicy: { credentialNames: ReadonlySet<string> };
}

export interface RedirectOptions {
  /** The port clients reach the TLS listener at. */
  httpsPort(): number;
  judge(): PlainTextJudge;
}

// A host name or an IPv4 address, or a bracketed IPv6 literal; an optional port, which the redirect replaces.
const HOST_RE = /^(?<name>[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export function createHttpRedirectListener(listen: ListenConfig, options: RedirectOptions): Server {
  const server = createServer({ requireHostHeader: false, maxHeaderSize: listen.maxHeaderSize }, (req, res) => answer(req, res, options));
  applyListenerLimits(server, listen);
  server.on('clientError', answerClientError);
  return server;
}

function answer(req: IncomingMessage, res: ServerResponse, options: RedirectOptions): void {
  // Nothing of the request is used; reading it lets the connection close cleanly after the answer.
  req.resume();
  const host = HOST_RE.exec(req.headers.host ?? '')?.groups?.['name'];
  const parsed = parseRequestTarget(req.url ?? '');
  if (host === undefined || !parsed.ok) {
    refuse(res, 'the request needs a valid Host header and path; send it to the https:// URL');
    return;
  }
  const refusal = plainTextRefusal(req, parsed.target, options.judge());
  if (refusal !== null) {
    refuse(res, refusal);
    return;
  }
  const port = options.httpsPort();
  res.writeHead(308, { location: `https://${host}${port === 443 ? '' : `:${port}`}${req.url}`, 'content-length': '0', 'cache-control': 'no-store' }).end();
}

/** Why the request may not be redirected, or null when it may (the rule at the top of the file). */
export function plainTextRefusal(req: IncomingMessage, target: RequestTarget, judge: PlainTextJudge): string | null {
  if (req.method !== 'GET' && req.method !== 'HEAD') return `a ${req.method ?? ''} request is never redirected from plain HTTP`;
  const length = req.headers['content-length'];
  if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) return 'a request with a body is never redirected from plain HTTP';
  for (const name of Object.keys(req.headers)) {
    const canonical = canonicalHeaderName(name);
    if (canonical === 'authorization' || canonical === 'proxy-authorization' || canonical.startsWith('pcr-auth-') || judge.headerPolicy.credentialNames.has(canonical)) {
      return 'the request carries credentials, which must only be sent over https';
    }
  }
  if (judge.ownEndpointAt(target) !== undefined || judge.forwardAuth?.serves(target.path) === true) return "the proxy's own endpoints are served over https only";
  if (judge.pathCarriesCredential(target)) return 'the path carries a credential, which must only be sent over https';
  return null;
}

function refuse(res: ServerResponse, description: string): void {
  const body = JSON.stringify({ error: 'invalid_request', error_description: `https required: ${description}`, reason: 'https_required' });
  res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', connection: 'close' }).end(body);
}
