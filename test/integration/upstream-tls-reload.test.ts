// Reloading `upstream.tls`: a CA file replaced under the same path applies to new upstream connections on the
// next reload (SIGHUP or a config change), a file that became unreadable makes the reload fail and keeps the
// running settings, and a reload into `rejectUnauthorized: false` warns as a start with it does.

import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echo-upstream.js';
import { baseConfig, loadTestConfig } from '../helpers/fixtures.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw-http.js';
import { createCertificateAuthority, issueLocalhost, writePemFiles } from '../helpers/tls-certs.js';

let upstream: EchoUpstream;
let proxy: TestProxy;
let caFile: string;
let newCaPem: string;

/** The proxy's config as the test last wrote it, as a reload would read it from the file. */
function rawConfig(tls: Record<string, unknown>): Record<string, unknown> {
  const raw = baseConfig(upstream.url);
  (raw['upstream'] as Record<string, unknown>)['tls'] = tls;
  return raw;
}

async function statusOf(path: string): Promise<number | null> {
  return (await rawRequest(proxy.port, `GET ${path} HTTP/1.1\r\nHost: portal.example\r\nConnection: close\r\n\r\n`)).status;
}

beforeAll(async () => {
  const [oldCa, newCa] = await Promise.all([createCertificateAuthority('Old Upstream CA'), createCertificateAuthority('New Upstream CA')]);
  newCaPem = newCa.certPem;
  const served = await issueLocalhost(newCa);
  caFile = writePemFiles({ 'ca.pem': oldCa.certPem }).paths['ca.pem']!;
  upstream = await startEchoUpstream({ tls: { cert: served.certPem, key: served.keyPem } });
  proxy = await startTestProxy({ upstream, edit: (config) => void ((config['upstream'] as Record<string, unknown>)['tls'] = { caFile }) });
});

afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

describe('reloading upstream.tls', () => {
  it('uses a CA file replaced under the same path once the config is reloaded', async () => {
    expect(await statusOf('/docs/before')).toBe(502);
    writeFileSync(caFile, newCaPem);
    expect(await statusOf('/docs/not-yet')).toBe(502);
    await proxy.proxy.reload(await loadTestConfig(rawConfig({ caFile })));
    expect(await statusOf('/docs/after')).toBe(200);
    expect(upstream.requests.map((r) => r.url)).toEqual(['/docs/after']);
  });

  it('refuses a reload whose CA file cannot be read, and keeps forwarding with the running settings', async () => {
    writeFileSync(caFile, 'not a certificate\n');
    const refused = await loadTestConfig(rawConfig({ caFile })).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems).toEqual([`upstream.tls: the CA file ${caFile} holds no PEM block`]);
    expect(await statusOf('/docs/still')).toBe(200);
    writeFileSync(caFile, newCaPem);
  });

  it('warns when a reload switches certificate verification off', async () => {
    const warnings = () => proxy.logLines.filter((line) => line.includes('UPSTREAM CERTIFICATE VERIFICATION IS OFF'));
    expect(warnings()).toEqual([]);
    await proxy.proxy.reload(await loadTestConfig(rawConfig({ rejectUnauthorized: false })));
    expect(warnings()).toHaveLength(1);
    expect(await statusOf('/docs/unverified')).toBe(200);
  });
});
