// Recognises PCR-360 request paths: `PREFIX/KEY/REQUEST.OUTPUT` and `PREFIX/KEY/rpt/ID.html|pdf`, plus the
// header-login endpoints `PREFIX/KEY/authlogin.OUTPUT` and `PREFIX/KEY/authlogout.OUTPUT`. Parsing runs on the
// normalised path, which has no dot segments, empty segments or encoded slashes left to confuse it.

import type { PcrOutput } from '../../respond/pcr-formats.js';
import { targetViewKey, type RequestTarget } from '../../target/request-target.js';

export type PcrPath =
  | { kind: 'request'; key: string; requestType: string; output: string }
  | { kind: 'report'; key: string; reportId: string; output: string }
  | { kind: 'login'; key: string; output: string }
  | { kind: 'logout'; key: string; output: string };

const OUTPUT_OF_ERRORS: ReadonlySet<string> = new Set(['json', 'xml', 'php']);

/** Returns null for any path that is not shaped like a PCR-360 call, so another authenticator may try it. */
export function parsePcrPath(path: string, prefix: string): PcrPath | null {
  if (!path.startsWith(prefix) || path.charCodeAt(prefix.length) !== 0x2f) return null;
  const rest = path.slice(prefix.length + 1);
  const firstSlash = rest.indexOf('/');
  if (firstSlash <= 0) return null;
  const key = rest.slice(0, firstSlash);
  const tail = rest.slice(firstSlash + 1);
  if (tail.startsWith('rpt/')) {
    const file = tail.slice(4);
    const dot = file.lastIndexOf('.');
    if (file.includes('/') || dot <= 0) return null;
    return { kind: 'report', key, reportId: file.slice(0, dot), output: file.slice(dot + 1) };
  }
  if (tail.includes('/')) return null;
  const dot = tail.lastIndexOf('.');
  if (dot <= 0 || dot === tail.length - 1) return null;
  const requestType = tail.slice(0, dot);
  const output = tail.slice(dot + 1);
  if (requestType === 'authlogin') return { kind: 'login', key, output };
  if (requestType === 'authlogout') return { kind: 'logout', key, output };
  return { kind: 'request', key, requestType, output };
}

/** The format errors are answered in: the requested one when we speak it, JSON otherwise. */
export function errorOutput(output: string): PcrOutput {
  return OUTPUT_OF_ERRORS.has(output) ? (output as PcrOutput) : 'json';
}

/** A face's reading of request targets as PCR-360 paths, parsed at most once per request. */
export type PcrPathView = (target: RequestTarget) => PcrPath | null;

export function pcrPathView(prefix: string): PcrPathView {
  const key = targetViewKey<PcrPath | null>('pcr-path');
  const read = (path: string) => parsePcrPath(path, prefix);
  return (target) => target.view(key, read);
}

/**
 * The path with its key segment masked, for logs: keys are credentials. Under the prefix, compared without regard
 * to letter case (a client that mistyped `/API/` still sent its key), the segment where PCR-360 puts the key is
 * masked when the path has the PCR-360 shape (it may be a mistyped key) or when it is one of our keys; other API
 * paths (`/api/tickets/12`, `/api/dashboard`) stay readable.
 */
export function maskPcrPath(path: string, prefix: string, shaped: PcrPath | null, isKey: (segment: string) => boolean): string {
  if (path.length <= prefix.length + 1 || path.charCodeAt(prefix.length) !== 0x2f) return path;
  const start = path.slice(0, prefix.length);
  if (start !== prefix && start.toLowerCase() !== prefix.toLowerCase()) return path;
  const rest = path.slice(prefix.length + 1);
  const slash = rest.indexOf('/');
  const segment = slash === -1 ? rest : rest.slice(0, slash);
  if (segment === '') return path;
  const pcrShaped = start === prefix ? shaped !== null : parsePcrPath(prefix + path.slice(prefix.length), prefix) !== null;
  if (!pcrShaped && !isKey(segment)) return path;
  return `${start}/***${slash === -1 ? '' : rest.slice(slash)}`;
}
