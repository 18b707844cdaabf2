// Metrics with two workers behind one port: whichever worker accepts the scrape, /metrics shows the counts of
// both, combined by the primary, and state every worker sees alike (sessions in the shared store) counted once.

import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { startCli, writeCliConfig, type CliProcess } from '../helpers/cli-process.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echo-upstream.js';
import { basicAuth } from '../helpers/oauth.js';
import { flushKeyPrefix, sharedRedisUrl, uniqueKeyPrefix } from '../helpers/redis.js';

const sharedRedis = sharedRedisUrl();
const prefix = uniqueKeyPrefix('cluster-metrics');

/** A request on a new connection, so the cluster's round robin hands each one to the next worker. */
function onNewConnection(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', agent: false, headers: { ...init.headers, connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.once('error', reject);
    req.end(init.body);
  });
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.skipIf(sharedRedis === null)('metrics with workers', () => {
  let upstream: EchoUpstream | undefined;
  let cli: CliProcess | undefined;

  afterAll(async () => {
    cli?.kill();
    await upstream?.close();
    if (sharedRedis !== null) await flushKeyPrefix(sharedRedis, prefix);
  });

  it('combines every worker\'s counts whichever worker answers the scrape', async () => {
    upstream = await startEchoUpstream();
    const file = writeCliConfig(upstream.url, (config) => {
      config['workers'] = 2;
      config['store'] = { type: 'redis', url: sharedRedis, keyPrefix: prefix };
      config['tokens'] = { ...(config['tokens'] as object), signingKeys: [] };
    });
    cli = await startCli(file);
    const ready = await cli.waitForLog((line) => line['msg'] === 'listening' && line['workers'] === 2, { after: 0, timeoutMs: 20_000 });
    const admin = String(ready['admin']);

    const grant = await onNewConnection(`${cli.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth('public-api', SECRETS.clientSecret) },
      body: new URLSearchParams({ grant_type: 'password', scope: 'public-api', username: 'my-operator', password: SECRETS.operatorPassword }).toString(),
    });
    expect(grant.status, grant.text).toBe(200);
    const token = (JSON.parse(grant.text) as { access_token: string }).access_token;
    for (let i = 0; i < 6; i++) expect((await onNewConnection(`${cli.url}/api/tickets`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // One PCR session in the shared store: each worker counts it, the combined gauge must still say one.
    const pcrLogin = await onNewConnection(`${cli.url}/api/${SECRETS.rwKey}/authlogin.json`, {
      method: 'POST',
      headers: { 'PCR-AUTH-USERNAME': 'api-user', 'PCR-AUTH-PASSWORD': SECRETS.apiUserPassword },
    });
    expect(pcrLogin.status, pcrLogin.text).toBe(200);
    const servedBy = new Set(cli.logs().filter((line) => line['msg'] === 'request' && line['path'] === '/api/tickets').map((line) => line['worker']));
    expect(servedBy.size).toBe(2);

    for (let scrape = 0; scrape < 4; scrape++) {
      const reply = await onNewConnection(`${admin}/metrics`);
      expect(reply.status).toBe(200);
      expect(sample(reply.text, 'portcullis_requests_total{route="api",method="GET",outcome="forwarded"}')).toBe(6);
      expect(sample(reply.text, 'portcullis_tokens_issued_total{grant="password",client="public-api"}')).toBe(1);
      expect(sample(reply.text, 'portcullis_pcr_sessions_active')).toBe(1);
      expect(sample(reply.text, 'portcullis_pcr_logins_total{reason="session_created"}')).toBe(1);
      expect(sample(reply.text, 'portcullis_config_reloads_total')).toBe(0);
    }
  }, 40_000);
});
