// HTTPS on the proxy's listener for the scenarios that measure it: a CA made for the run and a certificate for the
// loopback address, written beside the run's other files, and fetch (the scenarios' setup calls) told to trust that
// CA. The load generator does not verify certificates, so what is measured is the proxy's side of TLS alone.

import { Agent, setGlobalDispatcher } from 'undici';
import { createCertificateAuthority, issueLocalhost, writePemFiles } from '../test/helpers/tls-certs.js';

export interface BenchListenerTls {
  /** `listen.tls` for the scenario's proxy. */
  config: { certFile: string; keyFile: string };
}

export async function benchListenerTls(dir: string): Promise<BenchListenerTls> {
  const ca = await createCertificateAuthority('Portcullis Bench CA');
  const server = await issueLocalhost(ca);
  const { paths } = writePemFiles({ 'bench-ca.pem': ca.certPem, 'bench-cert.pem': server.certPem, 'bench-key.pem': server.keyPem }, dir);
  setGlobalDispatcher(new Agent({ connect: { ca: ca.certPem } }));
  return { config: { certFile: paths['bench-cert.pem']!, keyFile: paths['bench-key.pem']! } };
}

/** The scenario's config with `listen.tls` when it asks for an HTTPS listener. */
export function withListenerTls(config: Record<string, unknown>, tls: BenchListenerTls | null): Record<string, unknown> {
  if (tls === null) return config;
  return { ...config, listen: { ...(config['listen'] as Record<string, unknown>), tls: tls.config } };
}
