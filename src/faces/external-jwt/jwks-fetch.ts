// One bounded fetch of an issuer's JSON Web Key Set: one deadline for headers and body together, the body
// counted while it streams and abandoned as soon as it passes the byte limit (a declared Content-Length over it
// is refused before reading), no redirects, and every failure named by an outcome instead of thrown, so a
// down, slow or hostile endpoint costs at most the timeout and never an exception in the request path.

import { fetch } from 'undici';
import type { ExternalAlgorithm } from '../../config/schema/external-issuers.js';
import { usableKeysOf, type UsableKeys } from './jwks-document.js';

export type KeySetFetchFailure = 'timeout' | 'unreachable' | 'http_status' | 'too_large' | 'invalid';
export type KeySetFetchOutcome = 'ok' | KeySetFetchFailure;
export const KEY_SET_FETCH_OUTCOMES: readonly KeySetFetchOutcome[] = ['ok', 'timeout', 'unreachable', 'http_status', 'too_large', 'invalid'];

export type KeySetFetch = ({ ok: true } & UsableKeys) | { ok: false; failure: KeySetFetchFailure };

export interface KeySetSource {
  url: string;
  algorithms: readonly ExternalAlgorithm[];
  timeoutMs: number;
  maxKeys: number;
  maxBytes: number;
}

class BodyTooLarge extends Error {}

async function readBounded(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, total);
    total += value.byteLength;
    if (total > maxBytes) {
      void reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
}

function failed(failure: KeySetFetchFailure): KeySetFetch {
  return { ok: false, failure };
}

export async function fetchKeySet(source: KeySetSource): Promise<KeySetFetch> {
  const signal = AbortSignal.timeout(source.timeoutMs);
  try {
    const response = await fetch(source.url, { signal, redirect: 'error', headers: { accept: 'application/jwk-set+json, application/json' } });
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    const refused: KeySetFetchFailure | null =
      response.status !== 200 ? 'http_status' : declared > source.maxBytes ? 'too_large' : response.body === null ? 'invalid' : null;
    if (refused !== null || response.body === null) {
      void response.body?.cancel().catch(() => {});
      return failed(refused ?? 'invalid');
    }
    const text = (await readBounded(response.body as ReadableStream<Uint8Array>, source.maxBytes)).toString('utf8');
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      return failed('invalid');
    }
    const usable = usableKeysOf(document, source.algorithms, source.maxKeys);
    return usable === null ? failed('invalid') : { ok: true, ...usable };
  } catch (error) {
    if (error instanceof BodyTooLarge) return failed('too_large');
    return failed(signal.aborted ? 'timeout' : 'unreachable');
  }
}
