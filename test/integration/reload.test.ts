// Config reload: `Portcullis.reload` in-process (what changes at once, what a request in flight keeps, which
// sessions end), and the real CLI process reloading on SIGHUP and on a change of the file, keeping the running
// config when the new one is invalid.

import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Config } from '../../src/config/load.js';
import { SECRETS } from '../fixtures/secrets.js';
import { exampleConfig, replaceConfigFile, startCli, writeCliConfig, type CliProcess, type LogLine } from '../helpers/cli-process.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echo-upstream.js';
import { baseConfig, loadPcrConfig, loadTestConfig, withPcr, type ConfigEdit } from '../helpers/fixtures.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { DEMO_CLIENT_AUTH, login, refreshGrant, tokenRequest } from '../helpers/oauth.js';
import { pcrCall, pcrLogin } from '../helpers/pcr.js';
import { startTestProxy } from '../helpers/proxy.js';

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const res = await fetch(url, { method, headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function reasonOf(reply: Reply): unknown {
  return (JSON.parse(reply.text) as { reason?: string; error?: string }).reason ?? (JSON.parse(reply.text) as { error?: string }).error;
}

describe('Portcullis.reload in-process', () => {
  const t = testProxyForSuite(withPcr());
  let bearer: string;

  /** The config the proxy started with, changed by `edit`. */
  function configWith(edit: ConfigEdit): Promise<Config> {
    return loadPcrConfig(t.upstream.url, edit);
  }

  const unchanged = () => {};

  beforeEach(async () => {
    // Every test starts from the original config and a fresh operator token.
    await t.proxy.reload(await configWith(unchanged));
    t.upstream.reset();
    const answer = await login(t.url);
    expect(answer.status).toBe(200);
    bearer = `Bearer ${answer.body['access_token'] as string}`;
  });

  it("an operator whose apiAccess is turned off is refused at once with operator_disabled, and cannot refresh", async () => {
    const refresh = (await login(t.url)).body['refresh_token'] as string;
    expect((await get(`${t.url}/api/tickets`, { authorization: bearer })).status).toBe(200);

    const result = await t.proxy.reload(
      await configWith((c) => {
        (c['operators'] as { apiAccess: boolean }[])[0]!.apiAccess = false;
      }),
    );
    expect(result).toEqual({ restartNeeded: [] });

    const denied = await get(`${t.url}/api/tickets`, { authorization: bearer });
    expect(denied.status).toBe(401);
    expect(reasonOf(denied)).toBe('operator_disabled');
    expect(denied.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const refreshed = await refreshGrant(t.url, refresh);
    expect(refreshed.status).toBe(400);
    expect(refreshed.body).toMatchObject({ error: 'invalid_grant' });
    expect(t.upstream.requests.map((r) => r.url)).toEqual(['/api/tickets']);
    expect(t.logLines.some((line) => JSON.parse(line).msg === 'config reloaded')).toBe(true);
  });

  it('a new route is served at once', async () => {
    const before = await get(`${t.url}/reports/weekly`, { authorization: bearer });
    expect(before.status).toBe(404);
    expect(reasonOf(before)).toBe('route_not_found');

    await t.proxy.reload(
      await configWith((c) => {
        (c['routes'] as unknown[]).push({ id: 'reports', path: '/reports/**', methods: ['GET'], authenticators: ['bearer'] });
      }),
    );
    expect((await get(`${t.url}/reports/weekly`, { authorization: bearer })).status).toBe(200);
    expect((await get(`${t.url}/reports/weekly`)).status).toBe(401);
    expect((await get(`${t.url}/reports/weekly`, { authorization: bearer }, 'POST')).status).toBe(405);
    expect(t.upstream.requests.map((r) => r.url)).toEqual(['/reports/weekly']);
  });

  it('new identity header names are used at once, and clients cannot send either spelling', async () => {
    await t.proxy.reload(
      await configWith((c) => {
        c['identityHeaders'] = { user: 'X-Remote-User', teams: 'X-Remote-Groups' };
      }),
    );
    const spoofed = { 'x-remote-user': 'admin', 'x-portcullis-user': 'admin', 'x-remote-groups': 'root' };
    expect((await get(`${t.url}/api/tickets`, { authorization: bearer, ...spoofed })).status).toBe(200);
    const seen = t.upstream.requests[0]!.headers;
    expect(seen['x-remote-user']).toBe('my-operator');
    expect(seen['x-remote-groups']).toBe('service-desk,network');
    expect(seen['x-portcullis-user']).toBeUndefined();
    expect(seen['x-portcullis-teams']).toBeUndefined();
    expect(seen['x-portcullis-client-id']).toBe('public-api');
  });

  it('tokens issued before a reload stay valid when the signing keys did not change', async () => {
    await t.proxy.reload(await configWith((c) => ((c['oauth'] as { scope: string }).scope = 'public-api')));
    expect((await get(`${t.url}/api/tickets`, { authorization: bearer })).status).toBe(200);
  });

  it("removing an API user ends that user's sessions and refuses its token; other users keep theirs", async () => {
    const removed = await pcrLogin(t.url, SECRETS.rwKey, 'api-user');
    const kept = await pcrLogin(t.url, SECRETS.rwKey, 'expiring-user');
    const call = (token: string) => pcrCall(t.url, SECRETS.rwKey, token);
    expect((await call(removed)).status).toBe(200);
    const store = t.proxy.services.store;
    expect(await store.listSessions({ user: 'api-user' }, t.clock.now())).toHaveLength(1);

    await t.proxy.reload(
      await configWith((c) => {
        const section = c['pcr'] as { users: { login: string }[] };
        section.users = section.users.filter((u) => u.login !== 'api-user');
      }),
    );
    expect(await store.listSessions({ user: 'api-user' }, t.clock.now())).toHaveLength(0);
    const refused = await call(removed);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toMatchObject({ status: 'error', error: 'user_disabled' });
    expect((await call(kept)).status).toBe(200);
    expect(await store.listSessions({ user: 'expiring-user' }, t.clock.now())).toHaveLength(1);
    // Putting the user back does not bring the ended session back.
    await t.proxy.reload(await configWith(unchanged));
    const ended = await call(removed);
    expect(ended.status).toBe(401);
    expect(JSON.parse(ended.text)).toMatchObject({ error: 'session_ended' });
  });

  it('a request in flight during a reload finishes under the config it started with', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    t.upstream.respondWith((req, res) => {
      void released.then(() => {
        const body = JSON.stringify({ seen: req.headers });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      });
    });
    const inFlight = get(`${t.url}/api/held`, { authorization: bearer });
    for (let i = 0; i < 200 && t.upstream.requests.length === 0; i++) await sleep(10);
    expect(t.upstream.requests).toHaveLength(1);

    await t.proxy.reload(
      await configWith((c) => {
        c['identityHeaders'] = { user: 'X-Remote-User' };
        (c['operators'] as { apiAccess: boolean }[])[0]!.apiAccess = false;
      }),
    );
    release();
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    const seen = (JSON.parse(reply.text) as { seen: Record<string, string> }).seen;
    expect(seen['x-portcullis-user']).toBe('my-operator');
    expect(seen['x-remote-user']).toBeUndefined();
    // The next request is judged by the new config.
    t.upstream.respondWith(null);
    expect(reasonOf(await get(`${t.url}/api/held`, { authorization: bearer }))).toBe('operator_disabled');
  });

  it('brute-force thresholds and listener limits change at once', async () => {
    await t.proxy.reload(
      await configWith((c) => {
        c['protection'] = { bruteForce: { maxFailuresPerUser: 1, window: '1m' } };
        c['listen'] = { ...(c['listen'] as object), keepAliveTimeout: '3s' };
      }),
    );
    const wrong = await login(t.url, { password: 'wrong-password' });
    expect(wrong.status).toBe(400);
    expect((await login(t.url)).status).toBe(429);
    const health = await get(`${t.url}/healthz`);
    expect(health.headers.get('keep-alive')).toBe('timeout=3');
    t.clock.advance(61_000);
  });

  it('settings only a restart can change are kept and reported; the rest of the reload applies', async () => {
    const port = t.port;
    const result = await t.proxy.reload(
      await configWith((c) => {
        c['listen'] = { ...(c['listen'] as object), port: port === 65535 ? 65534 : port + 1, maxHeaderSize: 8192 };
        c['store'] = { type: 'memory', maxSessions: 10 };
        c['log'] = { level: 'debug', requests: false };
        (c['routes'] as unknown[]).push({ id: 'reports', path: '/reports/**', public: true });
      }),
    );
    expect(result.restartNeeded).toEqual(expect.arrayContaining(['listen.host/port', 'listen.maxHeaderSize', 'store', 'log.level', 'log.requests']));
    expect(t.proxy.port).toBe(port);
    expect(t.proxy.runtime.config.parsed.listen.port).toBe(0);
    expect(t.proxy.runtime.config.parsed.log).toEqual({ level: 'info', requests: true });
    expect((await get(`${t.url}/reports/x`)).status).toBe(200);
    const line = t.logLines.map((l) => JSON.parse(l) as LogLine).filter((l) => l['msg'] === 'config reloaded').pop();
    expect(line?.['restartNeeded']).toEqual(result.restartNeeded);
  });

  it('a new upstream URL is used at once', async () => {
    const other = await startEchoUpstream();
    try {
      await t.proxy.reload(await configWith((c) => ((c['upstream'] as { url: string }).url = other.url)));
      expect((await get(`${t.url}/api/moved`, { authorization: bearer })).status).toBe(200);
      expect(other.requests.map((r) => r.url)).toEqual(['/api/moved']);
      expect(t.upstream.requests).toHaveLength(0);
    } finally {
      await t.proxy.reload(await configWith(unchanged));
      await other.close();
    }
  });

  it('reloadFailed logs every problem and keeps the running config', async () => {
    const before = t.proxy.runtime;
    t.proxy.reloadFailed(['listen.bogus: unknown key', 'upstream.timeout: expected a duration like "30s"']);
    expect(t.proxy.runtime).toBe(before);
    const line = JSON.parse(t.logLines.at(-1)!) as LogLine;
    expect(line).toMatchObject({ level: 'error', msg: 'config reload failed; keeping the running config', problems: ['listen.bogus: unknown key', 'upstream.timeout: expected a duration like "30s"'] });
  });
});

describe('reload with the demo backend', () => {
  it('upstream timeouts change without losing the demo backend', async () => {
    const demo = (c: Record<string, unknown>) => (c['upstream'] = { url: 'demo', timeout: '2s' });
    const t = await startTestProxy({ edit: demo });
    try {
      const before = t.proxy.services.forwarder;
      const raw = baseConfig('demo');
      demo(raw);
      (raw['upstream'] as { timeout: string }).timeout = '3s';
      const result = await t.proxy.reload(await loadTestConfig(raw));
      expect(result.restartNeeded).toEqual([]);
      expect(t.proxy.services.forwarder).not.toBe(before);
      expect(t.proxy.runtime.config.parsed.upstream.timeout).toBe(3000);
      expect((await get(`${t.url}/`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('the CLI process', () => {
  let upstream: EchoUpstream;
  let cli: CliProcess;
  let file: string;
  let base: Record<string, unknown>;

  const reloaded = (after: number) => cli.waitForLog((l) => l['msg'] === 'config reloaded', { after, timeoutMs: 5000 });

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    file = writeCliConfig(upstream.url);
    base = exampleConfig(upstream.url);
    cli = await startCli(file);
  });

  afterAll(async () => {
    cli.kill();
    await upstream.close();
  });

  afterEach(() => upstream.reset());

  it('starts from the example config and serves it', async () => {
    expect(cli.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await get(`${cli.url}/`)).status).toBe(200);
    expect(reasonOf(await get(`${cli.url}/docs/guide`))).toBe('route_not_found');
  });

  it('SIGHUP after a valid change: the new config is served and "config reloaded" is logged', async () => {
    const mark = cli.logs().length;
    writeFileSync(file, stringify({ ...base, routes: [...(base['routes'] as unknown[]), { id: 'docs', path: '/docs/**', public: true }] }));
    cli.signal('SIGHUP');
    const line = await reloaded(mark);
    expect(line).toMatchObject({ level: 'info', source: file, restartNeeded: [] });
    expect((await get(`${cli.url}/docs/guide`)).status).toBe(200);
    expect(upstream.requests.map((r) => r.url)).toEqual(['/docs/guide']);
    // The watcher sees the same change, finds the content already loaded and does not reload again.
    await sleep(600);
    expect(cli.logs().slice(mark).filter((l) => l['msg'] === 'config reloaded')).toHaveLength(1);
  });

  it('SIGHUP reloads even when the file did not change', async () => {
    const mark = cli.logs().length;
    cli.signal('SIGHUP');
    await reloaded(mark);
    expect((await get(`${cli.url}/docs/guide`)).status).toBe(200);
  });

  it('SIGHUP after an invalid change: the old config stays and one error line lists every problem', async () => {
    const mark = cli.logs().length;
    const invalid = {
      ...base,
      listen: { ...(base['listen'] as object), bogus: true },
      upstream: { ...(base['upstream'] as object), timeout: 'soon' },
      routes: [{ id: 'api', path: '/api/**', authenticators: ['bearer'] }],
    };
    writeFileSync(file, stringify(invalid));
    cli.signal('SIGHUP');
    const line = await cli.waitForLog((l) => l['level'] === 'error', { after: mark, timeoutMs: 5000 });
    expect(line['msg']).toBe('config reload failed; keeping the running config');
    const problems = line['problems'] as string[];
    expect(problems).toHaveLength(2);
    expect(problems).toEqual(expect.arrayContaining(['listen.bogus: unknown key', expect.stringMatching(/^upstream\.timeout: expected a duration/)]));
    // Still the previous config: the docs route and the public home page.
    expect((await get(`${cli.url}/docs/guide`)).status).toBe(200);
    expect((await get(`${cli.url}/`)).status).toBe(200);
    await sleep(600);
    expect(cli.logs().slice(mark).filter((l) => l['msg'] === 'config reloaded')).toHaveLength(0);
  });

  it('a change of the file without a signal is picked up within a second', async () => {
    const mark = cli.logs().length;
    const startedAt = Date.now();
    // Written elsewhere and renamed over the file, as editors and config-map updates do.
    replaceConfigFile(file, { ...base, identityHeaders: { ...(base['identityHeaders'] as object), user: 'X-Remote-User' } });
    await reloaded(mark);
    expect(Date.now() - startedAt).toBeLessThan(1500);
    // The docs route is gone again (the file no longer has it) and identities arrive under the new name.
    expect(reasonOf(await get(`${cli.url}/docs/guide`))).toBe('route_not_found');
    const token = await tokenRequest(cli.url, { grant_type: 'password', username: 'my-operator', password: SECRETS.operatorPassword }, DEMO_CLIENT_AUTH);
    expect(token.status).toBe(200);
    expect((await get(`${cli.url}/api/tickets`, { authorization: `Bearer ${token.body['access_token'] as string}` })).status).toBe(200);
    expect(upstream.requests[0]!.headers['x-remote-user']).toBe('my-operator');
    expect(upstream.requests[0]!.headers['x-portcullis-user']).toBeUndefined();
  });

  it('a file change in place is picked up as well, and a change needing a restart is reported', async () => {
    const mark = cli.logs().length;
    writeFileSync(file, stringify({ ...base, listen: { ...(base['listen'] as object), port: 1 } }));
    const line = await reloaded(mark);
    expect(line['restartNeeded']).toEqual(['listen.host/port']);
    expect((await get(`${cli.url}/`)).status).toBe(200);
  });

  it('SIGTERM ends the process with exit code 0', async () => {
    cli.signal('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toContain('Portcullis listening on');
  });
});
