// Traces as a collector receives them: a real OTLP/HTTP receiver on port 0 behind proxies with tracing on, one
// trusting the test's address for traceparent and one not, and a proxy with tracing off. Spans must arrive with
// their names and parents, the upstream must see the proxy's span in the right trace, and no attribute may carry
// a credential.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SECRETS } from '../fixtures/secrets.js';
import { baseConfig, loadPcrConfig, loadTestConfig, withPcr } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { startTestProxy } from '../helpers/proxy.js';
import { basicAuth, login } from '../helpers/oauth.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
}
interface ReceivedSpan extends OtlpSpan {
  service: string;
}

const SERVER_KIND = 2;
const CLIENT_KIND = 3;
const COLLECTOR_AUTH_ENV = 'PORTCULLIS_TEST_COLLECTOR_AUTH';
const COLLECTOR_AUTH = `Bearer collector-${randomBytes(8).toString('hex')}`;

/** An OTLP/HTTP traces receiver: keeps every span of every JSON export, with the service that sent it. */
function startReceiver(): { start(): Promise<void>; url(): string; spans: ReceivedSpan[]; headers: IncomingHttpHeaders[]; close(): Promise<void> } {
  const spans: ReceivedSpan[] = [];
  const headers: IncomingHttpHeaders[] = [];
  let server: Server | null = null;
  return {
    spans,
    headers,
    async start() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          if (req.method !== 'POST' || req.url !== '/v1/traces') {
            res.writeHead(404).end();
            return;
          }
          headers.push(req.headers);
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
          };
          for (const resourceSpans of body.resourceSpans) {
            const service = resourceSpans.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
            for (const scope of resourceSpans.scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    },
    url: () => `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1/traces`,
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
}

const receiver = startReceiver();
beforeAll(async () => {
  process.env[COLLECTOR_AUTH_ENV] = COLLECTOR_AUTH;
  await receiver.start();
});
afterAll(async () => {
  delete process.env[COLLECTOR_AUTH_ENV];
  await receiver.close();
});

function tracingOn(service: string, trustedProxies: string[]) {
  return withPcr((config) => {
    (config['listen'] as Record<string, unknown>)['trustedProxies'] = trustedProxies;
    config['tracing'] = { enabled: true, endpoint: receiver.url(), serviceName: service, headers: { authorization: { env: COLLECTOR_AUTH_ENV } } };
  });
}

function attribute(span: OtlpSpan, key: string): string | number | boolean | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  if (value === undefined) return undefined;
  return value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue));
}

const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('tracing on', () => {
  const trusting = testProxyForSuite(() => tracingOn('portcullis-trusting', ['127.0.0.1']));
  const untrusting = testProxyForSuite(() => tracingOn('portcullis-untrusting', []));
  const secrets: string[] = [SECRETS.clientSecret, SECRETS.operatorPassword, SECRETS.apiUserPassword, SECRETS.rwKey, SECRETS.roKey, COLLECTOR_AUTH];
  secrets.push(basicAuth('public-api', SECRETS.clientSecret).slice('Basic '.length));
  const clientTrace = hex(16);
  const clientParent = hex(8);

  let spans: ReceivedSpan[] = [];
  let bearerUpstreamTraceparent = '';
  let untrustedUpstreamTraceparent = '';

  beforeAll(async () => {
    const granted = await login(trusting.url);
    expect(granted.status).toBe(200);
    secrets.push(granted.body['access_token'] as string, granted.body['refresh_token'] as string);
    const bearer = `Bearer ${granted.body['access_token'] as string}`;

    trusting.upstream.reset();
    const forwarded = await send(`${trusting.url}/api/tickets`, { headers: { authorization: bearer, traceparent: traceparent(clientTrace, clientParent), tracestate: 'vendor=kept' } });
    expect(forwarded.status).toBe(200);
    bearerUpstreamTraceparent = trusting.upstream.requests.at(-1)!.headers['traceparent'] as string;
    expect(trusting.upstream.requests.at(-1)!.headers['tracestate']).toBe('vendor=kept');
    expect((await send(`${trusting.url}/api/${SECRETS.roKey}/servicedesk.json`)).status).toBe(200);
    expect((await send(`${trusting.url}/api/tickets`)).status).toBe(401);

    // The same client trace from a peer the second proxy does not trust.
    const second = await login(untrusting.url);
    secrets.push(second.body['access_token'] as string, second.body['refresh_token'] as string);
    untrusting.upstream.reset();
    const untrusted = await send(`${untrusting.url}/api/tickets`, { headers: { authorization: `Bearer ${second.body['access_token'] as string}`, traceparent: traceparent(clientTrace, clientParent), tracestate: 'vendor=forged' } });
    expect(untrusted.status).toBe(200);
    untrustedUpstreamTraceparent = untrusting.upstream.requests.at(-1)!.headers['traceparent'] as string;
    expect(untrusting.upstream.requests.at(-1)!.headers['tracestate']).toBeUndefined();

    await trusting.proxy.tracing!.flush();
    await untrusting.proxy.tracing!.flush();
    spans = receiver.spans;
  });

  const ofService = (service: string) => spans.filter((s) => s.service === service);
  const childrenOf = (parent: OtlpSpan) => spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

  it('sends the collector its configured header', () => {
    expect(receiver.headers.length).toBeGreaterThan(0);
    for (const headers of receiver.headers) expect(headers['authorization']).toBe(COLLECTOR_AUTH);
  });

  it('continues a trusted traceparent and hands the upstream the proxy span of the same trace', () => {
    const server = ofService('portcullis-trusting').find((s) => s.kind === SERVER_KIND && s.traceId === clientTrace);
    expect(server, 'server span of the traced bearer request').toBeDefined();
    expect(server!.parentSpanId).toBe(clientParent);
    expect(server!.name).toBe('GET api');
    expect(attribute(server!, 'http.route')).toBe('api');
    expect(attribute(server!, 'portcullis.outcome')).toBe('forwarded');
    expect(attribute(server!, 'portcullis.authenticator')).toBe('oauth');
    expect(attribute(server!, 'http.response.status_code')).toBe(200);
    expect(attribute(server!, 'url.path')).toBe('/api/tickets');

    const children = childrenOf(server!);
    const authenticate = children.find((s) => s.name === 'authenticate');
    expect(authenticate).toBeDefined();
    expect(attribute(authenticate!, 'portcullis.outcome')).toBe('pass');
    expect(attribute(authenticate!, 'portcullis.authenticator')).toBe('oauth');
    const upstream = children.find((s) => s.name === 'upstream');
    expect(upstream).toBeDefined();
    expect(upstream!.kind).toBe(CLIENT_KIND);
    expect(attribute(upstream!, 'http.response.status_code')).toBe(200);
    expect(bearerUpstreamTraceparent).toBe(traceparent(clientTrace, upstream!.spanId));
  });

  it('starts a new trace for an untrusted peer and never passes its traceparent on', () => {
    const servers = ofService('portcullis-untrusting').filter((s) => s.kind === SERVER_KIND);
    expect(servers.length).toBeGreaterThan(0);
    for (const server of servers) {
      expect(server.traceId).not.toBe(clientTrace);
      expect(server.parentSpanId ?? '').toBe('');
    }
    const server = servers.find((s) => s.name === 'GET api')!;
    const upstream = childrenOf(server).find((s) => s.name === 'upstream')!;
    expect(untrustedUpstreamTraceparent).toBe(traceparent(server.traceId, upstream.spanId));
    expect(untrustedUpstreamTraceparent).not.toContain(clientTrace);
  });

  it('masks the API key in the path of a PCR-360 request', () => {
    const pcr = ofService('portcullis-trusting').find((s) => s.kind === SERVER_KIND && attribute(s, 'portcullis.authenticator') === 'api-key');
    expect(pcr).toBeDefined();
    expect(attribute(pcr!, 'url.path')).not.toContain(SECRETS.roKey);
    expect(attribute(pcr!, 'url.path')).toMatch(/servicedesk\.json$/);
  });

  it('gives a denied request its reason id, on the request and on its authenticate span', () => {
    const denied = ofService('portcullis-trusting').find((s) => s.kind === SERVER_KIND && attribute(s, 'portcullis.outcome') === 'denied');
    expect(denied).toBeDefined();
    expect(attribute(denied!, 'http.response.status_code')).toBe(401);
    const reason = attribute(denied!, 'portcullis.reason');
    expect(typeof reason).toBe('string');
    const authenticate = childrenOf(denied!).find((s) => s.name === 'authenticate')!;
    expect(attribute(authenticate, 'portcullis.reason')).toBe(reason);
    expect(childrenOf(denied!).some((s) => s.name === 'upstream')).toBe(false);
  });

  it('traces the token endpoint with its store calls as children', () => {
    const token = ofService('portcullis-trusting').find((s) => s.kind === SERVER_KIND && attribute(s, 'portcullis.outcome') === 'own' && attribute(s, 'url.path') === '/oauth/token');
    expect(token).toBeDefined();
    expect(attribute(token!, 'http.response.status_code')).toBe(200);
    const stores = childrenOf(token!).filter((s) => s.name.startsWith('store '));
    expect(stores.length).toBeGreaterThan(0);
    for (const store of stores) expect(attribute(store, 'portcullis.store.operation')).toBe(store.name.slice('store '.length));
  });

  it('carries no credential in any attribute', () => {
    expect(spans.length).toBeGreaterThan(0);
    for (const span of spans) {
      for (const value of [span.name, ...(span.attributes ?? []).map((a) => String(a.value.stringValue ?? ''))]) {
        for (const secret of secrets) expect(value, `${span.name}`).not.toContain(secret);
      }
    }
  });
});

describe('tracing off', () => {
  const t = testProxyForSuite(withPcr());

  it('builds no tracer, adds no traceparent and passes a client one through untouched', async () => {
    expect(t.proxy.tracing).toBeNull();
    const before = receiver.spans.length;
    const granted = await login(t.url);
    const bearer = `Bearer ${granted.body['access_token'] as string}`;
    t.upstream.reset();
    expect((await send(`${t.url}/api/tickets`, { headers: { authorization: bearer } })).status).toBe(200);
    expect(t.upstream.requests.at(-1)!.headers['traceparent']).toBeUndefined();
    const client = traceparent(hex(16), hex(8));
    expect((await send(`${t.url}/api/tickets`, { headers: { authorization: bearer, traceparent: client } })).status).toBe(200);
    expect(t.upstream.requests.at(-1)!.headers['traceparent']).toBe(client);
    expect(receiver.spans.length).toBe(before);
  });
});

describe('tracing config', () => {
  const withTracing = (tracing: Record<string, unknown>) => {
    const raw = baseConfig('http://127.0.0.1:1');
    raw['tracing'] = tracing;
    return loadTestConfig(raw);
  };

  it('is off by default, and needs an endpoint when on', async () => {
    expect((await loadTestConfig(baseConfig('http://127.0.0.1:1'))).parsed.tracing).toMatchObject({
      enabled: false,
      serviceName: 'portcullis',
      sampleRatio: 1,
      trustIncomingTraceparent: 'trusted-proxies',
    });
    await expect(withTracing({ enabled: true })).rejects.toThrow(/tracing\.endpoint/);
  });

  it('takes collector header values only from the environment', async () => {
    await expect(withTracing({ enabled: true, endpoint: 'http://collector:4318/v1/traces', headers: { authorization: 'Bearer plain' } })).rejects.toThrow(/tracing\.headers/);
  });

  it('needs a restart to change: a reload keeps the running tracing settings and says so', async () => {
    const t = await startTestProxy(withPcr());
    try {
      const next = await loadPcrConfig(t.upstream.url, (config) => {
        config['tracing'] = { enabled: true, endpoint: receiver.url() };
      });
      const { restartNeeded } = await t.proxy.reload(next);
      expect(restartNeeded).toContain('tracing');
      expect(t.proxy.tracing).toBeNull();
      expect(t.proxy.runtime.config.parsed.tracing.enabled).toBe(false);
    } finally {
      await t.close();
    }
  });
});

describe('collector refusing', () => {
  let refusing: Server | null = null;
  beforeAll(async () => {
    refusing = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(400, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => refusing!.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => refusing!.close(() => resolve())));
  const t = testProxyForSuite(() =>
    withPcr((config) => {
      config['tracing'] = { enabled: true, endpoint: `http://127.0.0.1:${(refusing!.address() as AddressInfo).port}/v1/traces` };
    }),
  );

  it('serves requests as ever and logs the failed exports once', async () => {
    expect((await login(t.url)).status).toBe(200);
    expect((await send(`${t.url}/api/tickets`)).status).toBe(401);
    await t.proxy.tracing!.flush();
    expect((await login(t.url)).status).toBe(200);
    await t.proxy.tracing!.flush();
    expect(t.proxy.tracing!.exportFailures).toBeGreaterThanOrEqual(2);
    const warnings = t.logLines.filter((line) => line.includes('trace export failed'));
    expect(warnings).toHaveLength(1);
  });
});

describe("the README's tracing example", () => {
  it('is a valid tracing section', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const bullet = readme.slice(readme.indexOf('- Traces (OpenTelemetry'));
    const block = /```yaml\n([\s\S]*?)```/.exec(bullet)![1]!.replace(/^ {2}/gm, '');
    const raw = baseConfig('http://127.0.0.1:1');
    Object.assign(raw, parse(block) as Record<string, unknown>);
    const config = await loadTestConfig(raw);
    expect(config.parsed.tracing).toMatchObject({ enabled: true, endpoint: 'http://collector:4318/v1/traces', headers: { authorization: { env: 'OTLP_AUTH_HEADER' } } });
  });
});

describe('tracing on the http-proxy engine', () => {
  const t = testProxyForSuite(() =>
    withPcr((config) => {
      (config['upstream'] as Record<string, unknown>)['engine'] = 'http-proxy';
      config['tracing'] = { enabled: true, endpoint: receiver.url(), serviceName: 'portcullis-http-proxy', trustIncomingTraceparent: 'always' };
    }),
  );

  it('hands the upstream the proxy span of the continued trace as well', async () => {
    const granted = await login(t.url);
    const clientTrace = hex(16);
    t.upstream.reset();
    const headers = { authorization: `Bearer ${granted.body['access_token'] as string}`, traceparent: traceparent(clientTrace, hex(8)) };
    expect((await send(`${t.url}/api/tickets`, { headers })).status).toBe(200);
    await t.proxy.tracing!.flush();
    const upstream = receiver.spans.find((s) => s.service === 'portcullis-http-proxy' && s.name === 'upstream' && s.traceId === clientTrace);
    expect(upstream).toBeDefined();
    expect(t.upstream.requests.at(-1)!.headers['traceparent']).toBe(traceparent(clientTrace, upstream!.spanId));
  });
});
