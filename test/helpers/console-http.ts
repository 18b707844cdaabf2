// Signing in to the admin console over plain HTTP, as a browser would: the sign-in form's CSRF cookie and field,
// then the session cookie; and reading a page's CSRF field, version field and grid rows, for tests that post the
// console's forms.

import { send, type Reply } from './http.js';

/** A console answer; `location` is where a redirect (never followed) points, or null. */
export interface ConsoleReply extends Reply {
  location: string | null;
}

export interface ConsoleClient {
  /** The session cookie as the browser would send it back. */
  cookie: string;
  /** The CSRF token of the signed-in session, as its pages carry it. */
  csrf: string;
  get(path: string): Promise<ConsoleReply>;
  post(path: string, fields: Record<string, string | string[]>, headers?: Record<string, string>): Promise<ConsoleReply>;
  /** A form post with its fields in order, repeated names allowed; the CSRF field first unless `withCsrf` is false. */
  postFields(path: string, fields: [string, string][], options?: { withCsrf?: boolean }): Promise<ConsoleReply>;
}

export const csrfOf = (page: string): string => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

/** The hidden version field of a form page, or '' when it has none. */
export const versionOf = (page: string): string => /name="version" value="(\d+)"/.exec(page)?.[1] ?? '';

/** The cells after a grid row's header cell `key`, or '' when the grid has no such row. */
export const gridRowOf = (page: string, key: string): string => new RegExp(`<th scope="row" class="mono">${key}</th>(.*?)</tr>`, 's').exec(page)?.[1] ?? '';

export function cookieFrom(reply: Reply, name: string): string | undefined {
  for (const header of reply.headers.getSetCookie()) if (header.startsWith(`${name}=`)) return header;
  return undefined;
}

export const formBody = (fields: Record<string, string | string[]>): string => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  return params.toString();
};

/** Opens the sign-in form and submits `token`; the reply of the submission, and the cookie it set if any. */
export async function submitSignIn(adminUrl: string, token: string): Promise<{ reply: Reply; session: string | undefined }> {
  const form = await send(`${adminUrl}/console/sign-in`);
  const preCookie = cookieFrom(form, 'portcullis_console_sign_in')!.split(';')[0]!;
  const reply = await send(`${adminUrl}/console/sign-in`, {
    method: 'POST',
    headers: { cookie: preCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: formBody({ _csrf: csrfOf(form.text), token }),
    redirect: 'manual',
  });
  return { reply, session: cookieFrom(reply, 'portcullis_console') };
}

const withLocation = (reply: Reply): ConsoleReply => ({ ...reply, location: reply.headers.get('location') });

/** Signs in with `token` (the sign-in must answer 303 with a session cookie); calls that carry that session. */
export async function signInToConsole(adminUrl: string, token: string): Promise<ConsoleClient> {
  const { reply, session } = await submitSignIn(adminUrl, token);
  if (reply.status !== 303 || session === undefined) throw new Error(`sign-in answered ${reply.status}${session === undefined ? ' without a session cookie' : ''}`);
  const cookie = session.split(';')[0]!;
  const get = async (path: string) => withLocation(await send(`${adminUrl}${path}`, { headers: { cookie }, redirect: 'manual' }));
  const csrf = csrfOf((await get('/console/keys')).text);
  const postBody = async (path: string, body: string, headers: Record<string, string> = {}) =>
    withLocation(await send(`${adminUrl}${path}`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body, redirect: 'manual' }));
  return {
    cookie,
    csrf,
    get,
    post: (path, fields, headers = {}) => postBody(path, formBody({ _csrf: csrf, ...fields }), headers),
    postFields: (path, fields, { withCsrf = true } = {}) => postBody(path, new URLSearchParams([...(withCsrf ? [['_csrf', csrf] as [string, string]] : []), ...fields]).toString()),
  };
}
