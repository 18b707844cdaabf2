// Client certificates as admin credentials, on a small HTTPS server of the test's own with the admin guard in front:
// a verified certificate whose subject is listed is that identity with its role; an unlisted or unverified one
// gives nothing; an Authorization header next to it is still judged on its own, and the narrower role wins.

import express from 'express';
import { request as httpsRequest, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforceAdminRole, requireAdminToken, type AdminCredential } from '../../src/admin/auth.js';
import type { CertificateIdentityConfig } from '../../src/config/schema/admin-certificates.js';
import { hashSecret, parseSecretHash } from '../../src/secrets/hash.js';
import { SecretVerifier } from '../../src/secrets/verifier.js';
import { SECRETS } from '../fixtures/secrets.js';
import { createCertificateAuthority, issueLocalhost, type CertificateAuthority, type PemPair } from '../helpers/tls-certs.js';

const READ_TOKEN = 'dashboards-read-token';

let ca: CertificateAuthority;
let server: Server;
let port: number;
const certs: Record<'opsAdmin' | 'auditor' | 'unlisted' | 'forged', PemPair> = {} as never;
let identities: CertificateIdentityConfig[];

beforeAll(async () => {
  ca = await createCertificateAuthority('Admin Client CA');
  const rogue = await createCertificateAuthority('Rogue CA');
  const serverPair = await issueLocalhost(ca);
  certs.opsAdmin = await ca.issue({ commonName: 'ops-admin', subjectSuffix: 'O=Operations', usage: 'client' });
  certs.auditor = await ca.issue({ commonName: 'auditor', subjectSuffix: 'O=Operations', usage: 'client' });
  certs.unlisted = await ca.issue({ commonName: 'someone', subjectSuffix: 'O=Operations', usage: 'client' });
  // The listed subject, from a CA the listener does not trust: `clientAuth: optional` lets it through unverified.
  certs.forged = await rogue.issue({ commonName: 'ops-admin', subjectSuffix: 'O=Operations', usage: 'client' });
  identities = [
    { name: 'ops-admin', subject: 'O=Operations, CN=ops-admin', role: 'manage' },
    { name: 'auditor', subject: 'CN=auditor, O=Operations', role: 'read' },
  ];
  const readHash = await hashSecret(READ_TOKEN);
  const tokens: AdminCredential[] = [
    { name: 'deploy', role: 'manage', secret: { text: SECRETS.adminTokenHash, parsed: parseSecretHash(SECRETS.adminTokenHash)! } },
    { name: 'dashboards', role: 'read', secret: { text: readHash, parsed: parseSecretHash(readHash)! } },
  ];
  const app = express();
  app.use(requireAdminToken(() => tokens, new SecretVerifier(), () => identities));
  app.use(enforceAdminRole);
  app.all('/who', (_req, res) => {
    res.json(res.locals.admin);
  });
  // As `clientAuth: optional` would configure it: ask for a certificate, let the application see unverified ones.
  server = createServer({ cert: serverPair.certPem, key: serverPair.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false }, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function call(method: string, options: { cert?: PemPair; authorization?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path: '/who',
        servername: 'localhost',
        ca: ca.certPem,
        agent: false,
        ...(options.cert ? { cert: options.cert.certPem, key: options.cert.keyPem } : {}),
        headers: options.authorization === undefined ? {} : { authorization: options.authorization },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }));
      },
    );
    req.once('error', reject);
    req.end();
  });
}

describe('a client certificate as the admin credential', () => {
  it('a listed certificate is its identity with its role, for reads and writes', async () => {
    expect(await call('GET', { cert: certs.opsAdmin })).toEqual({ status: 200, body: { name: 'ops-admin', role: 'manage', credential: 'certificate' } });
    expect(await call('POST', { cert: certs.opsAdmin })).toEqual({ status: 200, body: { name: 'ops-admin', role: 'manage', credential: 'certificate' } });
  });

  it('a read identity may read and is refused a write, the refusal naming the certificate', async () => {
    expect((await call('GET', { cert: certs.auditor })).body).toEqual({ name: 'auditor', role: 'read', credential: 'certificate' });
    expect(await call('DELETE', { cert: certs.auditor })).toEqual({ status: 403, body: { error: 'forbidden', error_description: 'the admin certificate "auditor" may only read' } });
  });

  it('an unlisted certificate, an unverified one with a listed subject, and none at all are 401', async () => {
    for (const cert of [certs.unlisted, certs.forged, undefined]) {
      const reply = await call('GET', cert ? { cert } : {});
      expect(reply.status, JSON.stringify(reply.body)).toBe(401);
      expect(reply.body['error']).toBe('unauthorized');
    }
  });

  it('with a token as well, the token must be valid, and the narrower role wins (the token on a tie)', async () => {
    expect((await call('GET', { cert: certs.opsAdmin, authorization: 'Bearer not-a-token' })).status).toBe(401);
    expect((await call('GET', { cert: certs.opsAdmin, authorization: `Bearer ${SECRETS.adminToken}` })).body).toEqual({ name: 'deploy', role: 'manage' });
    expect((await call('GET', { cert: certs.auditor, authorization: `Bearer ${SECRETS.adminToken}` })).body).toEqual({ name: 'auditor', role: 'read', credential: 'certificate' });
    expect((await call('POST', { cert: certs.auditor, authorization: `Bearer ${SECRETS.adminToken}` })).status).toBe(403);
    expect((await call('GET', { cert: certs.opsAdmin, authorization: `Bearer ${READ_TOKEN}` })).body).toEqual({ name: 'dashboards', role: 'read' });
    // An unlisted certificate changes nothing about a valid token.
    expect((await call('POST', { cert: certs.unlisted, authorization: `Bearer ${SECRETS.adminToken}` })).body).toEqual({ name: 'deploy', role: 'manage' });
  });

  it('reads the identities on every request, so a reload that removes or re-roles one applies at once', async () => {
    const before = identities;
    try {
      identities = [{ name: 'ops-admin', subject: 'CN=ops-admin, O=Operations', role: 'read' }];
      expect((await call('POST', { cert: certs.opsAdmin })).status).toBe(403);
      identities = [];
      expect((await call('GET', { cert: certs.opsAdmin })).status).toBe(401);
    } finally {
      identities = before;
    }
  });
});
