// Which TLS changes a reload applies and which wait for a restart: the certificate, key, CA, minVersion, ciphers
// and HSTS apply live; switching TLS on or off, the client-certificate mode and the redirect listener do not.

import { describe, expect, it } from 'vitest';
import { keepRestartOnly, restartOnlyChanges } from '../../src/config/restart-only.js';
import { baseConfig, loadTestConfig } from '../helpers/fixtures.js';

const tls = { certFile: '/etc/portcullis/server.crt', keyFile: '/etc/portcullis/server.key', caFile: '/etc/portcullis/ca.crt' };
const configWith = (listen: Record<string, unknown>, admin: Record<string, unknown> = {}) => {
  const raw = baseConfig('http://127.0.0.1:9');
  raw['listen'] = { ...(raw['listen'] as Record<string, unknown>), ...listen };
  raw['admin'] = { ...(raw['admin'] as Record<string, unknown>), ...admin };
  return loadTestConfig(raw);
};

describe('TLS settings on reload', () => {
  it('applies new files, minVersion, ciphers and HSTS live', async () => {
    const before = await configWith({ tls });
    const after = await configWith({ tls: { ...tls, certFile: '/etc/portcullis/new.crt', minVersion: 'TLSv1.3', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', hsts: false } });
    expect(restartOnlyChanges(before, after)).toEqual([]);
  });

  it('keeps TLS on or off, the clientAuth mode and the redirect listener as they started', async () => {
    const before = await configWith({ tls, httpRedirect: { port: 8081 } }, { tls });
    const after = await configWith({ tls: { ...tls, clientAuth: 'require', certFile: '/etc/portcullis/new.crt' } });
    expect(restartOnlyChanges(before, after)).toEqual(['listen.tls.clientAuth', 'admin.tls (on/off)', 'listen.httpRedirect']);
    const kept = keepRestartOnly(before, after).parsed;
    expect(kept.listen.tls).toMatchObject({ clientAuth: 'none', certFile: '/etc/portcullis/new.crt' });
    expect(kept.listen.httpRedirect).toEqual({ port: 8081 });
    expect(kept.admin.tls).toMatchObject({ certFile: tls.certFile });
  });
});
