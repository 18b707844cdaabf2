// Sends exact bytes to a local port and parses the first response, for tests about requests an HTTP client
// would refuse to send or quietly tidy (bad framing, odd header spellings, smuggling attempts).

import { connect } from 'node:net';

export interface RawResponse {
  /** null when no parsable response arrived before the connection closed or the timeout passed. */
  status: number | null;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The body of the first final response (chunked framing removed), decoded as UTF-8. */
  body: string;
  /** Every byte received, as latin1 so each character is one byte. */
  raw: string;
  /** Whether the server closed (or reset) the connection. */
  closed: boolean;
}

export interface RawRequestOptions {
  /** Default 5000 ms; after it, whatever arrived is returned. */
  timeoutMs?: number;
}

interface ParsedResponse {
  status: number | null;
  headers: Record<string, string>;
  body: Buffer;
  complete: boolean;
}

/**
 * A string is sent as latin1, so each character is one byte and `raw.length` is the byte count a test puts in
 * Content-Length; pass a Buffer for UTF-8 or other exact bytes.
 * Interim 1xx responses (100 Continue, 103) are skipped; a 101 is returned as soon as its head arrives.
 */
export function rawRequest(port: number, raw: string | Buffer, options: RawRequestOptions = {}): Promise<RawResponse> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  const expectBody = !bytes.subarray(0, 5).equals(Buffer.from('HEAD '));

  return new Promise<RawResponse>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let connected = false;
    let closed = false;
    let done = false;

    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parseResponse(received, expectBody, closed);
      resolve({
        status: parsed?.status ?? null,
        headers: parsed?.headers ?? {},
        body: parsed?.body.toString('utf8') ?? '',
        raw: received.toString('latin1'),
        closed,
      });
    };
    const timer = setTimeout(finish, timeoutMs);

    socket.on('connect', () => {
      connected = true;
      socket.write(bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseResponse(received, expectBody, false);
      if (!parsed?.complete) return;
      // A server that announced the close is given the chance to do it, so `closed` reports it reliably.
      if (/\bclose\b/i.test(parsed.headers['connection'] ?? '')) return;
      finish();
    });
    const onClosed = (): void => {
      closed = true;
      finish();
    };
    socket.on('end', onClosed);
    socket.on('close', onClosed);
    socket.on('error', (err) => {
      if (connected) {
        onClosed();
        return;
      }
      done = true;
      clearTimeout(timer);
      reject(err);
    });
  });
}

function parseResponse(data: Buffer, expectBody: boolean, atEof: boolean): ParsedResponse | undefined {
  let offset = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', offset);
    if (headEnd < 0) {
      return atEof && data.length > offset ? { status: null, headers: {}, body: Buffer.alloc(0), complete: true } : undefined;
    }
    const [statusLine = '', ...lines] = data.subarray(offset, headEnd).toString('latin1').split('\r\n');
    const match = /^HTTP\/\d(?:\.\d)? (\d{3})(?: |$)/.exec(statusLine);
    if (!match) return { status: null, headers: {}, body: Buffer.alloc(0), complete: atEof };
    const status = Number(match[1]);
    const headers = parseHeaders(lines);
    const bodyStart = headEnd + 4;
    if (status < 200 && status !== 101) {
      offset = bodyStart;
      continue;
    }
    if (!expectBody || status === 101 || status === 204 || status === 304) {
      return { status, headers, body: Buffer.alloc(0), complete: true };
    }
    const rest = data.subarray(bodyStart);
    if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      const { body, complete } = decodeChunked(rest);
      return { status, headers, body, complete };
    }
    const length = headers['content-length'];
    if (length !== undefined && /^\d+$/.test(length)) {
      const size = Number(length);
      return { status, headers, body: rest.subarray(0, size), complete: rest.length >= size };
    }
    return { status, headers, body: rest, complete: atEof };
  }
}

function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}

/** Decodes as much chunked framing as has arrived; `complete` once the last chunk and trailers are in. */
function decodeChunked(data: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const sizeText = data.subarray(offset, lineEnd).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) break;
    const size = parseInt(sizeText, 16);
    if (size === 0) {
      // The last chunk's line ends the same blank line that ends any trailers.
      return { body: Buffer.concat(parts), complete: data.indexOf('\r\n\r\n', lineEnd) >= 0 };
    }
    const chunkStart = lineEnd + 2;
    if (data.length < chunkStart + size + 2) {
      parts.push(data.subarray(chunkStart, Math.min(data.length, chunkStart + size)));
      break;
    }
    parts.push(data.subarray(chunkStart, chunkStart + size));
    offset = chunkStart + size + 2;
  }
  return { body: Buffer.concat(parts), complete: false };
}
