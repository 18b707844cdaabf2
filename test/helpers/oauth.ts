// Calls of the OAuth face as a client makes them: the token endpoint (password and refresh_token grants, with the
// demo client's Basic credentials unless told otherwise) and bearer requests with the access token it issued.

import { expect } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { send, type Reply } from './http.js';

export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
}

/** The demo client's Authorization header. */
export const DEMO_CLIENT_AUTH = { authorization: basicAuth('public-api', SECRETS.clientSecret) } as const;

export interface TokenAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function tokenRequest(url: string, form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<TokenAnswer> {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Password grant with the demo client and operator; returns the token response body. */
export async function login(
  url: string,
  overrides: Record<string, string> = {},
  client: { id: string; secret: string } = { id: 'public-api', secret: SECRETS.clientSecret },
): Promise<TokenAnswer> {
  return tokenRequest(
    url,
    { grant_type: 'password', scope: 'public-api', username: 'my-operator', password: SECRETS.operatorPassword, ...overrides },
    { authorization: basicAuth(client.id, client.secret) },
  );
}

/** Refresh grant by the demo client. */
export function refreshGrant(url: string, refreshToken: string): Promise<TokenAnswer> {
  return tokenRequest(url, { grant_type: 'refresh_token', refresh_token: refreshToken }, DEMO_CLIENT_AUTH);
}

/** A fresh access token of the demo operator; the login must succeed. */
export async function accessToken(url: string): Promise<string> {
  const answer = await login(url);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body['access_token'] as string;
}

/** A GET of `path` with the access token as a bearer credential. */
export function bearerGet(url: string, token: string, path = '/api/tickets'): Promise<Reply> {
  return send(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
}
