// The files of `upstream.tls`, read when the config is loaded: an unreadable file, a key that does not match its
// certificate or a wrong passphrase is then a config problem like any other (the proxy does not start, a reload
// is refused and the running config stays), never a failure of the first request that opens a connection.
// Holding the contents on the config also lets a reload see that a file changed though its path did not.

import { createSecureContext } from 'node:tls';
import type { UpstreamTlsConfig } from './schema/tls.js';
import { readTlsFiles, secureContextFiles, secureContextProblem, TlsFilesError, type TlsFiles } from './tls-files.js';

type Problem = { path: (string | number)[]; message: string };

/** What `upstream.tls` says, with the contents of the files it names. */
export interface UpstreamTlsMaterial {
  settings: UpstreamTlsConfig;
  files: TlsFiles;
}

/** Reads and checks `upstream.tls`; null when there is none or it has a problem (pushed onto `problems`). */
export function loadUpstreamTls(upstream: { url: string; tls?: UpstreamTlsConfig | undefined }, env: NodeJS.ProcessEnv, problems: Problem[]): UpstreamTlsMaterial | null {
  const settings = upstream.tls;
  if (settings === undefined) return null;
  const path = ['upstream', 'tls'];
  // Settings that would silently do nothing are refused: an operator who wrote them expects a verified hop.
  if (upstream.url === 'demo') {
    problems.push({ path, message: 'the demo backend is reached over plain HTTP in the same process; remove upstream.tls or point upstream.url at an https:// upstream' });
    return null;
  }
  if (!upstream.url.toLowerCase().startsWith('https:')) {
    problems.push({ path, message: `upstream.url is not an https:// URL, so these TLS settings would never be used; write https:// or remove upstream.tls` });
    return null;
  }
  if (settings.passphrase !== undefined && settings.keyFile === undefined) {
    problems.push({ path: [...path, 'passphrase'], message: 'a passphrase without keyFile has nothing to unlock' });
    return null;
  }
  let files: TlsFiles;
  try {
    files = readTlsFiles(settings, env);
  } catch (error) {
    if (!(error instanceof TlsFilesError)) throw error;
    problems.push({ path, message: error.message });
    return null;
  }
  try {
    // Builds what every connection will use, once, to find a bad PEM, a key that is not the certificate's or a
    // wrong passphrase now. OpenSSL's reason names the problem and never the key's contents.
    createSecureContext({ ...secureContextFiles(files), minVersion: settings.minVersion });
  } catch (error) {
    problems.push({ path, message: secureContextProblem(settings, error) });
    return null;
  }
  return { settings, files };
}

/** Whether two loads of `upstream.tls` would make the same connections (settings and file contents alike). */
export function sameUpstreamTls(a: UpstreamTlsMaterial | null, b: UpstreamTlsMaterial | null): boolean {
  if (a === null || b === null) return a === b;
  return JSON.stringify(a.settings) === JSON.stringify(b.settings) && JSON.stringify(a.files) === JSON.stringify(b.files);
}
