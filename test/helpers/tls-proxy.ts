// TLS on a test proxy's listeners: a private CA with a localhost certificate written to files, the config edit that
// names them, HTTPS clients that trust the CA (fetch for the face helpers, node:https for what fetch hides: the
// peer's certificate, a client certificate, keep-alive on one chosen connection), and a wait on a condition.

import { request, Agent as HttpsAgent, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Agent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import { createCertificateAuthority, issueLocalhost, writePemFiles, type CertificateAuthority, type PemPair } from './tls-certs.js';
import type { ConfigEdit } from './fixtures.js';

export interface TlsFiles {
  ca: CertificateAuthority;
  server: PemPair;
  dir: string;
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** A CA and a localhost certificate it signed, as server.crt, server.key and ca.crt in a fresh folder. */
export async function tlsFiles(): Promise<TlsFiles> {
  const ca = await createCertificateAuthority();
  const server = await issueLocalhost(ca);
  const { dir, paths } = writePemFiles({ 'server.crt': server.certPem, 'server.key': server.keyPem, 'ca.crt': ca.certPem });
  return { ca, server, dir, certFile: paths['server.crt']!, keyFile: paths['server.key']!, caFile: paths['ca.crt']! };
}

/** Config edit: `listen.tls` (and `admin.tls` with `admin: true`) with the files and any further settings. */
export function withListenerTls(files: TlsFiles, settings: Record<string, unknown> = {}, options: { admin?: boolean } = {}): ConfigEdit {
  return (config) => {
    const tls = { certFile: files.certFile, keyFile: files.keyFile, ...settings };
    config['listen'] = { ...(config['listen'] as Record<string, unknown>), tls };
    if (options.admin) config['admin'] = { ...(config['admin'] as Record<string, unknown>), tls };
  };
}

/** For the suite: fetch (and so every face helper) trusts `ca`; the previous dispatcher comes back afterwards. */
export function trustCaInSuite(ca: () => string): void {
  let previous: Dispatcher | undefined;
  let agent: Agent | undefined;
  beforeAll(() => {
    previous = getGlobalDispatcher();
    agent = new Agent({ connect: { ca: ca() } });
    setGlobalDispatcher(agent);
  });
  afterAll(async () => {
    if (previous) setGlobalDispatcher(previous);
    await agent?.close();
  });
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  fingerprint: string;
}

/** One request through node:https; `agent` keeps a connection across calls, `options` add ca, cert, key. */
export function httpsGet(url: string, options: RequestOptions = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...options }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A keep-alive agent holding one connection, so consecutive calls reuse it. */
export function oneConnectionAgent(ca: string): HttpsAgent {
  return new HttpsAgent({ keepAlive: true, maxSockets: 1, ca });
}

/** Resolves once `condition` holds, checking every 20 ms; throws after `deadlineMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, deadlineMs = 3000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`condition not met within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
