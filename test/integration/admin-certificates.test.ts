// Client certificates as admin credentials on the real admin listener (`admin.tls` with `clientAuth: require`): a
// listed certificate is its identity with its role, and the audit names it; a read identity is refused a write;
// an unlisted certificate is 401; a certificate from another CA never gets past the handshake.

import { request, type RequestOptions } from 'node:https';
import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { withPcr } from '../helpers/fixtures.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { tlsFiles, type TlsFiles } from '../helpers/tls-proxy.js';
import { createCertificateAuthority, type PemPair } from '../helpers/tls-certs.js';

let files: TlsFiles;
const certs: Record<'opsAdmin' | 'auditor' | 'unlisted' | 'foreign', PemPair> = {} as never;

const t = testProxyForSuite(async () => {
  files = await tlsFiles();
  certs.opsAdmin = await files.ca.issue({ commonName: 'ops-admin', subjectSuffix: 'O=Operations', usage: 'client' });
  certs.auditor = await files.ca.issue({ commonName: 'auditor', subjectSuffix: 'O=Operations', usage: 'client' });
  certs.unlisted = await files.ca.issue({ commonName: 'someone', subjectSuffix: 'O=Operations', usage: 'client' });
  certs.foreign = await (await createCertificateAuthority('Foreign CA')).issue({ commonName: 'ops-admin', subjectSuffix: 'O=Operations', usage: 'client' });
  // The PCR-360 face, so there are API keys to create.
  return withPcr((config) => {
    config['admin'] = {
      host: '127.0.0.1',
      port: 0,
      tls: { certFile: files.certFile, keyFile: files.keyFile, caFile: files.caFile, clientAuth: 'require' },
      tokens: [{ name: 'deploy', role: 'manage', token: SECRETS.adminTokenHash }],
      certificateIdentities: [
        { name: 'ops-admin', subject: 'CN=ops-admin, O=Operations', role: 'manage' },
        { name: 'auditor', subject: 'O=Operations, CN=auditor', role: 'read' },
      ],
    };
  });
});

interface Reply {
  status: number;
  json: Record<string, unknown>;
}

function admin(cert: PemPair, method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const tls: RequestOptions = { ca: files.ca.certPem, cert: cert.certPem, key: cert.keyPem, agent: false };
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, t.proxy.adminUrl), { method, headers, ...tls }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }));
    });
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

describe('client certificates on the admin listener', () => {
  it('a listed manage certificate reads and writes without a token, and the audit names its identity', async () => {
    expect(t.proxy.adminUrl).toMatch(/^https:/);
    const created = await admin(certs.opsAdmin, 'POST', '/admin/keys', { body: { id: 'by-certificate', read: ['servicedesk'] } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const audit = await admin(certs.opsAdmin, 'GET', '/admin/audit?limit=5');
    expect(audit.status).toBe(200);
    const entries = audit.json['entries'] as { actor: string; action: string; target: string }[];
    expect(entries[0]).toMatchObject({ actor: 'ops-admin', action: 'create', target: 'by-certificate' });
    const logged = t.logLines.map((line) => JSON.parse(line) as { audit?: { actor: string; target: string } }).find((line) => line.audit?.target === 'by-certificate');
    expect(logged?.audit?.actor).toBe('ops-admin');
  });

  it('a read identity may read and gets 403 on a write', async () => {
    expect((await admin(certs.auditor, 'GET', '/admin/audit?limit=1')).status).toBe(200);
    const refused = await admin(certs.auditor, 'POST', '/admin/keys', { body: { id: 'by-auditor' } });
    expect(refused).toEqual({ status: 403, json: { error: 'forbidden', error_description: 'the admin certificate "auditor" may only read' } });
  });

  it('an unlisted certificate is 401, and a valid token still works beside it', async () => {
    const refused = await admin(certs.unlisted, 'GET', '/admin/audit?limit=1');
    expect(refused.status).toBe(401);
    expect(refused.json['error']).toBe('unauthorized');
    expect((await admin(certs.unlisted, 'GET', '/admin/audit?limit=1', { token: SECRETS.adminToken })).status).toBe(200);
  });

  it('a read certificate narrows a manage token sent with it; a wrong token is 401 whatever the certificate', async () => {
    expect((await admin(certs.auditor, 'POST', '/admin/keys', { body: { id: 'narrowed' }, token: SECRETS.adminToken })).status).toBe(403);
    expect((await admin(certs.opsAdmin, 'GET', '/admin/audit?limit=1', { token: 'not-an-admin-token' })).status).toBe(401);
  });

  it('a certificate from another CA with a listed subject is refused in the handshake', async () => {
    await expect(admin(certs.foreign, 'GET', '/admin/audit?limit=1')).rejects.toThrow();
  });
});
