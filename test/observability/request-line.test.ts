// The request line is written by hand rather than through pino's serialiser: it must still be exactly the JSON
// pino would write for the same fields (same names, values and order), on the logger's own destination, with
// credentials masked, and valid JSON whatever the path holds.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { RequestLogObserver } from '../../src/observability/request-log.js';
import type { RequestRecord } from '../../src/pipeline/request-record.js';
import { parseRequestTarget, type RequestTarget } from '../../src/target/request-target.js';

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      callback();
    },
  });
  return { stream, lines };
}

function record(overrides: Partial<RequestRecord> & { rawTarget?: string }): RequestRecord {
  const parsed = overrides.rawTarget === undefined ? null : parseRequestTarget(overrides.rawTarget);
  const target = parsed !== null && parsed.ok ? parsed.target : null;
  return {
    startedAt: 1000,
    method: 'GET',
    routeId: 'api',
    ownEndpoint: false,
    outcome: 'forwarded',
    reason: null,
    status: 0,
    upstreamStatus: 200,
    upstreamSeconds: 0.0012345,
    authSeconds: 0.0001,
    authMethod: 'oauth',
    target,
    maskPath: (t: RequestTarget) => t.path,
    ...overrides,
  };
}

const response = (statusCode: number) => ({ statusCode }) as ServerResponse;
const request = {} as IncomingMessage;

async function flushed(stream: Writable): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  expect(stream.writableLength).toBe(0);
}

describe('the request line', () => {
  it('is the JSON pino writes for the same fields, in the same order', async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ level: 'info', destination: stream });
    const observer = new RequestLogObserver(logger);
    const rec = record({ rawTarget: '/api/tickets?q=open' });
    const finishedAt = 1003.5;
    const line = observer.line(rec, 200, finishedAt);
    logger.info({
      msg: 'request',
      method: 'GET',
      path: '/api/tickets?q=open',
      route: 'api',
      outcome: 'forwarded',
      reason: null,
      status: 200,
      ms: 3.5,
      upstreamStatus: 200,
      upstreamMs: 1.235,
      auth: 'oauth',
    });
    await flushed(stream);
    const ours = JSON.parse(line) as Record<string, unknown>;
    const pinos = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(ours)).toEqual(Object.keys(pinos));
    expect({ ...ours, time: null }).toEqual({ ...pinos, time: null });
    expect(ours['time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(ours['time'] as string) - Date.now())).toBeLessThan(5000);
  });

  it('writes onto the logger’s destination, and nothing when info is off', async () => {
    const { stream, lines } = capture();
    new RequestLogObserver(createLogger({ level: 'info', destination: stream })).requestFinished(record({ rawTarget: '/x' }), request, response(204));
    new RequestLogObserver(createLogger({ level: 'warn', destination: stream })).requestFinished(record({ rawTarget: '/y' }), request, response(204));
    await flushed(stream);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'request', path: '/x', status: 204 });
  });

  it('masks credentials in the path and the query, and stays valid JSON for any path', () => {
    const observer = new RequestLogObserver(createLogger({ level: 'info', destination: capture().stream }));
    const masked = observer.line(
      record({ rawTarget: '/api/SECRETKEY/x.json?api_key=abc&q=%22%5C', maskPath: (t) => t.path.replace('SECRETKEY', '***') }),
      403,
      1001,
    );
    const parsed = JSON.parse(masked) as Record<string, unknown>;
    expect(masked).not.toContain('SECRETKEY');
    expect(masked).not.toContain('abc');
    expect(parsed['path']).toBe('/api/***/x.json?api_key=***&q=%22%5C');
    const odd = JSON.parse(observer.line(record({ rawTarget: '/a"b\\c/\u00e9', reason: 'token_malformed', outcome: 'denied', routeId: null }), 401, 1001)) as Record<string, unknown>;
    expect(odd).toMatchObject({ route: null, reason: 'token_malformed', outcome: 'denied', status: 401 });
    const awkward = 'a"b\\c\nd\u0001\u00e9\u2028';
    const escaped = JSON.parse(observer.line(record({ rawTarget: '/x', maskPath: () => awkward, method: 'GE"T' }), 400, 1001)) as Record<string, unknown>;
    expect(escaped).toMatchObject({ path: awkward, method: 'GE"T' });
    const refused = JSON.parse(observer.line(record({ target: null, upstreamStatus: null, upstreamSeconds: null, authMethod: null }), 400, 1000)) as Record<string, unknown>;
    expect(refused).toMatchObject({ path: null, upstreamStatus: null, upstreamMs: null, auth: null });
  });
});
