// Plain HTTP calls for tests, through fetch: the whole answer as text and, when it is JSON, parsed, so a test can
// assert on status, headers and body without repeating the reading and parsing.

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: any;
}

export interface SendInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** `manual` answers a redirect itself instead of following it (fetch follows by default). */
  redirect?: 'follow' | 'manual';
}

export async function send(url: string, init: SendInit = {}): Promise<Reply> {
  const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, redirect: init.redirect ?? 'follow', ...(init.body !== undefined ? { body: init.body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Only the status of a request to `server.url` + `path`, for tests that count or log requests. */
export async function statusOf(server: { url: string }, path: string, init: SendInit = {}): Promise<number> {
  return (await send(server.url + path, init)).status;
}
