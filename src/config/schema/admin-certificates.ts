// `admin.certificateIdentities`: client certificates accepted in place of an admin token. Each names the
// certificate subject it admits and the role it gets; the admin listener's TLS must ask for client certificates
// (`admin.tls.clientAuth: optional | require`) and verify them against `admin.tls.caFile`, or none could match.

import { z } from 'zod';
import { formatDistinguishedName, parseDistinguishedName } from '../distinguished-name.js';
import type { ListenerTlsConfig } from './tls.js';

const identity = z.strictObject({
  /** What the audit records and the logs name; unique among admin tokens and identities. Same syntax as a token's name. */
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1 to 64 letters, digits, ".", "_" or "-"'),
  /** The whole subject, e.g. "CN=ops-admin, O=Operations": the same attributes in any order, values exact. */
  subject: z.string().min(1).superRefine((subject, ctx) => {
    const parsed = parseDistinguishedName(subject);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `not a certificate subject: ${parsed}` });
  }),
  role: z.enum(['read', 'manage'], { error: 'expected "read" or "manage"' }),
});

export const certificateIdentitiesSchema = z.array(identity).default([]);
export type CertificateIdentityConfig = z.infer<typeof identity>;

/**
 * Load-time rules that need the rest of the admin section: a listener that verifies client certificates, names
 * unique across tokens and identities (the audit tells them apart by name only), one entry per subject.
 */
export function refineCertificateIdentities(
  admin: { certificateIdentities: readonly CertificateIdentityConfig[]; tls?: ListenerTlsConfig | undefined },
  tokenNames: readonly string[],
  ctx: z.RefinementCtx,
): void {
  const identities = admin.certificateIdentities;
  if (identities.length === 0) return;
  const clientAuth = admin.tls?.clientAuth ?? 'none';
  if (clientAuth === 'none') {
    ctx.addIssue({
      code: 'custom',
      path: ['certificateIdentities'],
      message: `needs admin.tls with clientAuth "optional" or "require" (now ${admin.tls === undefined ? 'admin.tls is not set' : '"none"'}): without a verified client certificate no identity can match`,
    });
  }
  const names = new Set(tokenNames);
  const subjects = new Map<string, string>();
  identities.forEach((entry, i) => {
    if (names.has(entry.name)) ctx.addIssue({ code: 'custom', path: ['certificateIdentities', i, 'name'], message: 'names must be unique among admin tokens and certificate identities' });
    names.add(entry.name);
    const parsed = parseDistinguishedName(entry.subject);
    if (typeof parsed === 'string') return;
    const key = formatDistinguishedName(parsed);
    const earlier = subjects.get(key);
    if (earlier !== undefined) ctx.addIssue({ code: 'custom', path: ['certificateIdentities', i, 'subject'], message: `the same subject as "${earlier}": one certificate, one identity` });
    else subjects.set(key, entry.name);
  });
}
