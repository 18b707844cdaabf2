// admin.certificateIdentities: how a configured subject is read and compared with the subject a TLS socket reports
// (whole subject, any order, names case-insensitive, values exact), and what load refuses.

import { describe, expect, it } from 'vitest';
import { formatDistinguishedName, parseDistinguishedName, peerSubject, sameDistinguishedName, type DistinguishedName } from '../../src/config/distinguished-name.js';
import { resolveConfig } from '../../src/config-loader.js';
import { SECRETS } from '../fixtures/secrets.js';
import { configProblems } from '../helpers/fixtures.js';

function parsed(text: string): DistinguishedName {
  const name = parseDistinguishedName(text);
  if (typeof name === 'string') throw new Error(`not parsed: ${name}`);
  return name;
}

const matches = (configured: string, peer: Record<string, string | string[]>) => sameDistinguishedName(parsed(configured), peerSubject(peer));

describe('subject syntax and matching', () => {
  it('matches the same attributes in any order, attribute names in any case', () => {
    expect(matches('CN=ops-admin, O=Operations', { O: 'Operations', CN: 'ops-admin' })).toBe(true);
    expect(matches('o=Operations,cn=ops-admin', { CN: 'ops-admin', O: 'Operations' })).toBe(true);
    expect(matches('  CN = ops-admin ,  O = Operations  ', { CN: 'ops-admin', O: 'Operations' })).toBe(true);
    expect(matches('CN=ops, E=ops@example.com', { CN: 'ops', emailAddress: 'ops@example.com' })).toBe(true);
  });

  it('compares values exactly: case and every character count', () => {
    expect(matches('CN=ops-admin, O=Operations', { CN: 'OPS-ADMIN', O: 'Operations' })).toBe(false);
    expect(matches('CN=ops-admin, O=Operations', { CN: 'ops-admin ', O: 'Operations' })).toBe(false);
  });

  it('needs the whole subject: no attribute more, none fewer', () => {
    expect(matches('CN=ops-admin', { CN: 'ops-admin', O: 'Contractor' })).toBe(false);
    expect(matches('CN=ops-admin, O=Operations, OU=Night', { CN: 'ops-admin', O: 'Operations' })).toBe(false);
  });

  it('reads repeated attributes as a set of values, from the socket\'s arrays too', () => {
    expect(matches('CN=ops, OU=b, OU=a', { CN: 'ops', OU: ['a', 'b'] })).toBe(true);
    expect(matches('CN=ops, OU=a', { CN: 'ops', OU: ['a', 'b'] })).toBe(false);
  });

  it('takes a backslash-escaped character literally, and formats names back with the escapes', () => {
    expect(matches('CN=ops, O=Acme\\, Inc.', { CN: 'ops', O: 'Acme, Inc.' })).toBe(true);
    expect(matches('CN=a\\+b', { CN: 'a+b' })).toBe(true);
    expect(formatDistinguishedName(parsed('O=Acme\\, Inc., CN=ops'))).toBe('CN=ops, O=Acme\\, Inc.');
  });

  it('refuses what is not a subject, saying why', () => {
    expect(parseDistinguishedName('ops-admin')).toMatch(/expected attributes like "CN=ops-admin, O=Operations", not "ops-admin"/);
    expect(parseDistinguishedName('CN=')).toBe('the attribute CN has no value');
    expect(parseDistinguishedName('CN=a+O=b')).toMatch(/multi-valued/);
    expect(parseDistinguishedName('CN=a\\')).toMatch(/lone backslash/);
    expect(parseDistinguishedName('CN=a,,O=b')).toMatch(/expected attributes/);
  });
});

describe('admin.certificateIdentities at load', () => {
  const certDir = '/nonexistent';
  const tls = (clientAuth: string) => ({ certFile: `${certDir}/cert.pem`, keyFile: `${certDir}/key.pem`, caFile: `${certDir}/ca.pem`, clientAuth });
  function config(admin: Record<string, unknown>): Record<string, unknown> {
    return {
      upstream: { url: 'http://127.0.0.1:9000' },
      oauth: { clients: [{ id: 'public-api', secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password'] }] },
      routes: [{ id: 'api', path: '/api/**', authenticators: ['bearer'] }],
      admin,
    };
  }
  const opsAdmin = { name: 'ops-admin', subject: 'CN=ops-admin, O=Operations', role: 'manage' };

  it('accepts identities on an admin listener that asks for client certificates, and defaults to none', async () => {
    const loaded = await resolveConfig(config({ tls: tls('require'), certificateIdentities: [opsAdmin] }), { env: {} });
    expect(loaded.parsed.admin.certificateIdentities).toEqual([opsAdmin]);
    expect((await resolveConfig(config({}), { env: {} })).parsed.admin.certificateIdentities).toEqual([]);
    await expect(resolveConfig(config({ tls: tls('optional'), certificateIdentities: [opsAdmin] }), { env: {} })).resolves.toBeDefined();
  });

  it('refuses identities without admin.tls or with clientAuth none', async () => {
    expect(await configProblems(config({ certificateIdentities: [opsAdmin] }))).toEqual([
      'admin.certificateIdentities: needs admin.tls with clientAuth "optional" or "require" (now admin.tls is not set): without a verified client certificate no identity can match',
    ]);
    expect(await configProblems(config({ tls: tls('none'), certificateIdentities: [opsAdmin] }))).toEqual([expect.stringContaining('(now "none")')]);
  });

  it('refuses a malformed subject, name or role', async () => {
    const problems = await configProblems(
      config({
        tls: tls('require'),
        certificateIdentities: [opsAdmin, { name: 'broken', subject: 'ops', role: 'read' }, { name: 'no role', subject: 'CN=d' }],
      }),
    );
    expect(problems).toEqual([
      'admin.certificateIdentities[1].subject: not a certificate subject: expected attributes like "CN=ops-admin, O=Operations", not "ops"',
      expect.stringMatching(/^admin\.certificateIdentities\[2\]\.name: /),
      'admin.certificateIdentities[2].role: expected "read" or "manage"',
    ]);
  });

  it('refuses a name used by an admin token or another identity and a repeated subject, all at once', async () => {
    const problems = await configProblems(
      config({
        tls: tls('require'),
        token: SECRETS.adminTokenHash,
        tokens: [{ name: 'dashboards', token: SECRETS.adminTokenHash.replace('9abH', '9abI'), role: 'read' }],
        certificateIdentities: [
          { name: 'admin', subject: 'CN=a', role: 'read' },
          { name: 'dashboards', subject: 'CN=b', role: 'read' },
          opsAdmin,
          { name: 'ops-admin-2', subject: 'o=Operations, cn=ops-admin', role: 'read' },
          { name: 'ops-admin', subject: 'CN=c', role: 'read' },
        ],
      }),
    );
    expect(problems).toEqual([
      'admin.certificateIdentities[0].name: names must be unique among admin tokens and certificate identities',
      'admin.certificateIdentities[1].name: names must be unique among admin tokens and certificate identities',
      'admin.certificateIdentities[3].subject: the same subject as "ops-admin": one certificate, one identity',
      'admin.certificateIdentities[4].name: names must be unique among admin tokens and certificate identities',
    ]);
  });
});
