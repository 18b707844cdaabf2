// TLS settings: what a listener terminates (`listen.tls`, `admin.tls`) and how the upstream is reached
// (`upstream.tls`). Files are PEM, relative to the config file; a key's passphrase comes from env or a file only.
// Paths are made absolute at load (resolveTlsPaths), so a reload or a file watcher reads the same files.

import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { duration } from './fields.js';

const pemFile = z.string().min(1);

/** A key's passphrase: like every secret the proxy uses itself, never written in the config. */
const passphrase = z.union(
  [
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }),
    z.strictObject({ file: z.string().min(1) }),
  ],
  { error: 'a passphrase may not be written in the config: use { env: NAME } or { file: PATH }' },
);

const tlsVersion = z.enum(['TLSv1.2', 'TLSv1.3']);

/** Strict-Transport-Security on the proxy's own answers; `false` sends none. */
const hsts = z.union([
  z.literal(false),
  z
    .strictObject({
      maxAge: duration('365d').prefault('365d'),
      includeSubDomains: z.boolean().default(false),
      preload: z.boolean().default(false),
    })
    .prefault({}),
]);

export const listenerTlsSchema = z
  .strictObject({
    certFile: pemFile,
    keyFile: pemFile,
    passphrase: passphrase.optional(),
    /** CAs that client certificates must chain to; needed when `clientAuth` is not `none`. */
    caFile: pemFile.optional(),
    minVersion: tlsVersion.default('TLSv1.2'),
    /** OpenSSL cipher list for TLS 1.2 (TLS 1.3's suites are OpenSSL's defaults); Node's defaults when absent. */
    ciphers: z.string().min(1).optional(),
    /** `optional` asks for a client certificate and accepts a connection without one; `require` refuses it. */
    clientAuth: z.enum(['none', 'optional', 'require']).default('none'),
    hsts: hsts.prefault({}),
  })
  .superRefine((tls, ctx) => {
    if (tls.clientAuth !== 'none' && tls.caFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['caFile'], message: `clientAuth "${tls.clientAuth}" needs caFile: the CAs client certificates are checked against` });
    }
  });
export type ListenerTlsConfig = z.infer<typeof listenerTlsSchema>;

/** `listen.httpRedirect`: where the plain-HTTP redirect listener listens (listener/http-redirect.ts has its rule). */
export const httpRedirectSchema = z.strictObject({
  /** Defaults to `listen.host`. */
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65535),
  /** The port clients reach the TLS listener at, when a port mapping makes it differ from the one it listens on. */
  httpsPort: z.number().int().min(1).max(65535).optional(),
});

export const upstreamTlsSchema = z
  .strictObject({
    /** CAs the upstream's certificate must chain to, in place of the public CA store. */
    caFile: pemFile.optional(),
    /** A client certificate for an upstream that asks for one (mutual TLS); with `keyFile`. */
    certFile: pemFile.optional(),
    keyFile: pemFile.optional(),
    passphrase: passphrase.optional(),
    /** The name sent as SNI and checked against the certificate; the URL's host when absent. */
    serverName: z.string().min(1).optional(),
    minVersion: tlsVersion.default('TLSv1.2'),
    /** false accepts any certificate: for a test bench only, and logged loudly at start. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .superRefine((tls, ctx) => {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      ctx.addIssue({ code: 'custom', path: [tls.certFile === undefined ? 'certFile' : 'keyFile'], message: 'a client certificate needs both certFile and keyFile' });
    }
  });
export type UpstreamTlsConfig = z.infer<typeof upstreamTlsSchema>;

type WithFiles = { certFile?: string | undefined; keyFile?: string | undefined; caFile?: string | undefined; passphrase?: { env: string } | { file: string } | undefined };

/** The same settings with every file path absolute, resolved against the config file's folder. */
export function resolveTlsPaths<T extends WithFiles>(tls: T, baseDir: string): T {
  const absolute = (path: string | undefined) => (path === undefined || isAbsolute(path) ? path : resolve(baseDir, path));
  const out: T = { ...tls };
  if (tls.certFile !== undefined) out.certFile = absolute(tls.certFile);
  if (tls.keyFile !== undefined) out.keyFile = absolute(tls.keyFile);
  if (tls.caFile !== undefined) out.caFile = absolute(tls.caFile);
  if (tls.passphrase !== undefined && 'file' in tls.passphrase) out.passphrase = { file: absolute(tls.passphrase.file)! };
  return out;
}

/** Makes the paths of `listen.tls`, `admin.tls` and `upstream.tls` absolute, in place. */
export function resolveTlsSectionPaths(
  parsed: { listen: { tls?: ListenerTlsConfig | undefined }; admin: { tls?: ListenerTlsConfig | undefined }; upstream: { tls?: UpstreamTlsConfig | undefined } },
  baseDir: string,
): void {
  if (parsed.listen.tls) parsed.listen.tls = resolveTlsPaths(parsed.listen.tls, baseDir);
  if (parsed.admin.tls) parsed.admin.tls = resolveTlsPaths(parsed.admin.tls, baseDir);
  if (parsed.upstream.tls) parsed.upstream.tls = resolveTlsPaths(parsed.upstream.tls, baseDir);
}
