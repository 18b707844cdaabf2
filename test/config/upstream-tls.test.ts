// `upstream.tls` at config load: its files are read and checked then, so every problem (a file that cannot be
// read, a key that is not the certificate's, a wrong passphrase, settings that could never apply) is a config
// problem naming `upstream.tls`, at start as on reload, never a failure of the first forwarded request.

import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config-loader.js';
import { SECRETS } from '../fixtures/secrets.js';
import { configProblems } from '../helpers/fixtures.js';
import { createCertificateAuthority, writePemFiles } from '../helpers/tls-certs.js';

let dir: string;
let paths: Record<string, string>;

beforeAll(async () => {
  const ca = await createCertificateAuthority('Upstream Config CA');
  const client = await ca.issue({ commonName: 'portcullis-proxy', usage: 'client' });
  const other = await ca.issue({ commonName: 'someone-else', usage: 'client' });
  const encrypted = createPrivateKey(client.keyPem).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'right' }) as string;
  ({ dir, paths } = writePemFiles({
    'ca.pem': ca.certPem,
    'client.pem': client.certPem,
    'client-key.pem': client.keyPem,
    'other-key.pem': other.keyPem,
    'encrypted-key.pem': encrypted,
    'not-pem.txt': 'hello\n',
  }));
});

function configWith(upstream: Record<string, unknown>): Record<string, unknown> {
  return {
    upstream,
    oauth: { clients: [{ id: 'public-api', secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password'] }] },
    routes: [{ id: 'api', path: '/api/**', authenticators: ['bearer'] }],
  };
}

const https = (tls: Record<string, unknown>) => configWith({ url: 'https://portal.internal:8443', tls });


describe('upstream.tls', () => {
  it('loads the files with their contents, paths relative to the config file', async () => {
    const config = await resolveConfig(https({ caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'client-key.pem', serverName: 'portal.internal' }), { env: {}, baseDir: dir });
    expect(config.upstreamTls?.settings).toMatchObject({ caFile: paths['ca.pem'], serverName: 'portal.internal', minVersion: 'TLSv1.2', rejectUnauthorized: true });
    expect(config.upstreamTls?.files.ca).toContain('-----BEGIN CERTIFICATE-----');
    expect(config.upstreamTls?.files.key).toContain('PRIVATE KEY');
  });

  it('is null without upstream.tls', async () => {
    expect((await resolveConfig(configWith({ url: 'https://portal.internal' }), { env: {} })).upstreamTls).toBeNull();
  });

  it('takes an encrypted key with its passphrase from the environment, and refuses a wrong one', async () => {
    const tls = { certFile: paths['client.pem'], keyFile: paths['encrypted-key.pem'], passphrase: { env: 'KEY_PASSPHRASE' } };
    expect((await resolveConfig(https(tls), { env: { KEY_PASSPHRASE: 'right' } })).upstreamTls?.files.passphrase).toBe('right');
    const problems = await configProblems(https(tls), { KEY_PASSPHRASE: 'wrong' });
    expect(problems).toHaveLength(1);
    expect(problems).toEqual([`upstream.tls: the key in ${paths['encrypted-key.pem']} cannot be decrypted with the configured passphrase`]);
    expect(await configProblems(https(tls))).toEqual(['upstream.tls: environment variable KEY_PASSPHRASE (the key\'s passphrase) is not set']);
  });

  it('names a file that cannot be read or holds no PEM', async () => {
    const missing = join(dir, 'missing.pem');
    expect(await configProblems(https({ caFile: missing }))).toEqual([`upstream.tls: cannot read the CA file ${missing} (ENOENT)`]);
    expect(await configProblems(https({ caFile: paths['not-pem.txt'] }))).toEqual([`upstream.tls: the CA file ${paths['not-pem.txt']} holds no PEM block`]);
  });

  it('refuses a key that is not the certificate\'s, without quoting either', async () => {
    const problems = await configProblems(https({ certFile: paths['client.pem'], keyFile: paths['other-key.pem'] }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toBe(`upstream.tls: the key in ${paths['other-key.pem']} does not belong to the certificate in ${paths['client.pem']}`);
    expect(problems[0]).not.toContain('BEGIN');
  });

  it('refuses settings that could never apply: the demo backend, an http:// upstream, half a client certificate', async () => {
    expect(await configProblems(configWith({ url: 'demo', tls: { caFile: paths['ca.pem'] } }))).toEqual([
      'upstream.tls: the demo backend is reached over plain HTTP in the same process; remove upstream.tls or point upstream.url at an https:// upstream',
    ]);
    expect(await configProblems(configWith({ url: 'http://portal.internal', tls: { caFile: paths['ca.pem'] } }))).toEqual([
      'upstream.tls: upstream.url is not an https:// URL, so these TLS settings would never be used; write https:// or remove upstream.tls',
    ]);
    expect(await configProblems(https({ certFile: paths['client.pem'] }))).toEqual(['upstream.tls.keyFile: a client certificate needs both certFile and keyFile']);
    expect(await configProblems(https({ caFile: paths['ca.pem'], passphrase: { env: 'X' } }))).toEqual(['upstream.tls.passphrase: a passphrase without keyFile has nothing to unlock']);
  });
});
