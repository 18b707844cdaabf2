// Parses the token endpoint's application/x-www-form-urlencoded body. RFC 6749 §3.2 forbids repeating a
// parameter, so a repeated one is an error rather than a silent first-or-last pick.

import { invalidRequest } from '../../errors/oauth-error.js';

const MAX_PARAMETERS = 32;

export function parseTokenForm(body: Buffer): Map<string, string> {
  const text = body.toString('utf8');
  if (text.includes('\uFFFD')) throw invalidRequest('the request body is not valid UTF-8');
  const params = new Map<string, string>();
  if (text.length === 0) return params;
  const pairs = text.split('&');
  if (pairs.length > MAX_PARAMETERS) throw invalidRequest('too many parameters');
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const name = formDecode(rawName);
    const value = formDecode(rawValue);
    if (name === null || value === null) throw invalidRequest('the request body is not valid form encoding');
    if (params.has(name)) throw invalidRequest(`parameter "${safeName(name)}" is repeated`);
    // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    if (value === '') continue;
    params.set(name, value);
  }
  return params;
}

/** application/x-www-form-urlencoded decoding ('+' is a space); null when the percent-encoding is broken. */
export function formDecode(text: string): string | null {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return null;
  }
}

function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? name : '(unprintable)';
}
