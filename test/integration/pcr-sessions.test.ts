// PCR-360 session limits on a frozen clock: inactivity and lifetime at their exact millisecond boundaries, what
// counts as activity, "0 = no limit", the API user's session expiration date and the API key's expiry date.

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SECRETS } from '../fixtures/secrets.js';
import { FROZEN_EPOCH, PCR_ENV, withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { pcrCall, pcrLogin, pcrLoginRequest } from '../helpers/pcr.js';
import { memoryStoreOptions } from '../helpers/store-options.js';
import type { TestProxy } from '../helpers/proxy.js';

const RW: string = SECRETS.rwKey;
const SHORT: string = PCR_ENV.PCR_SHORT_KEY;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

function reasonOf(reply: Reply): string | undefined {
  try {
    return (JSON.parse(reply.text) as { error?: string }).error;
  } catch {
    return undefined;
  }
}

function expectDenied(reply: Reply, status: number, reason: string): void {
  expect({ status: reply.status, reason: reasonOf(reply) }).toEqual({ status, reason });
}

/** Moves the frozen clock forward to an absolute instant, never backwards. */
function advanceTo(t: TestProxy, instant: number): void {
  const delta = instant - t.clock.now();
  expect(delta).toBeGreaterThanOrEqual(0);
  t.clock.advance(delta);
}

describe('the short key: 30 s inactivity, 120 s lifetime', () => {
  const t = testProxyForSuite(withPcr());
  resetBeforeEachTest(t);

  it('a use at +29.999 s is accepted and moves the inactivity deadline', async () => {
    const token = await pcrLogin(t.url, SHORT);
    for (let i = 0; i < 3; i++) {
      t.clock.advance(29_999);
      expect((await pcrCall(t.url, SHORT, token)).status).toBe(200);
    }
    // Almost 90 s after login, three times the inactivity limit: only extension explains that it is alive.
    t.clock.advance(30 * SECOND);
    expectDenied(await pcrCall(t.url, SHORT, token), 401, 'session_idle');
    expect(t.upstream.requests).toHaveLength(3);
  });

  it('idle for exactly 30 s after the last use: session_idle, while 1 ms less is fine', async () => {
    const early = await pcrLogin(t.url, SHORT);
    const late = await pcrLogin(t.url, SHORT);
    t.clock.advance(5 * SECOND);
    expect((await pcrCall(t.url, SHORT, early)).status).toBe(200);
    expect((await pcrCall(t.url, SHORT, late)).status).toBe(200);
    t.clock.advance(29_999);
    expect((await pcrCall(t.url, SHORT, early)).status).toBe(200);
    t.clock.advance(1);
    expectDenied(await pcrCall(t.url, SHORT, late), 401, 'session_idle');
  });

  it('idle for exactly 30 s straight after login: session_idle', async () => {
    const token = await pcrLogin(t.url, SHORT);
    t.clock.advance(30 * SECOND);
    expectDenied(await pcrCall(t.url, SHORT, token), 401, 'session_idle');
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('29 s steps keep the session alive until the lifetime: ok at 119.999 s, session_expired at exactly 120 s', async () => {
    const loggedInAt = t.clock.now();
    const token = await pcrLogin(t.url, SHORT);
    for (const at of [29, 58, 87, 116]) {
      advanceTo(t, loggedInAt + at * SECOND);
      expect((await pcrCall(t.url, SHORT, token)).status, `at +${at}s`).toBe(200);
    }
    advanceTo(t, loggedInAt + 120 * SECOND - 1);
    expect((await pcrCall(t.url, SHORT, token)).status).toBe(200);
    t.clock.advance(1);
    expectDenied(await pcrCall(t.url, SHORT, token), 401, 'session_expired');
    t.clock.advance(1);
    expect((await pcrCall(t.url, SHORT, token)).status).toBe(401);
    expect(t.upstream.requests).toHaveLength(5);
  });

  it('a request refused for permission, method or type does not count as activity', async () => {
    const refused = await pcrLogin(t.url, SHORT);
    const control = await pcrLogin(t.url, SHORT);
    t.clock.advance(20 * SECOND);
    // The short key writes servicedesk only.
    expectDenied(await pcrCall(t.url, SHORT, refused, 'equipment.json', 'POST'), 403, 'key_lacks_write');
    expectDenied(await pcrCall(t.url, SHORT, refused, 'snmp.json'), 403, 'key_lacks_read');
    expectDenied(await pcrCall(t.url, SHORT, refused, 'servicedesk.json', 'PUT'), 405, 'pcr_method_not_allowed');
    expectDenied(await pcrCall(t.url, SHORT, refused, 'tickets.json'), 404, 'request_type_unknown');
    expect((await pcrCall(t.url, SHORT, control, 'servicedesk.json', 'POST')).status).toBe(200);
    t.clock.advance(10 * SECOND);
    expectDenied(await pcrCall(t.url, SHORT, refused), 401, 'session_idle');
    expect((await pcrCall(t.url, SHORT, control)).status).toBe(200);
  });

  it('an upstream answering 500 does not count as activity', async () => {
    const failed = await pcrLogin(t.url, SHORT);
    const control = await pcrLogin(t.url, SHORT);
    t.clock.advance(20 * SECOND);
    t.upstream.respondWith((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('backend down');
    });
    const broken = await pcrCall(t.url, SHORT, failed);
    expect(broken.status).toBe(500);
    t.upstream.respondWith(null);
    expect((await pcrCall(t.url, SHORT, control)).status).toBe(200);
    t.clock.advance(10 * SECOND);
    expectDenied(await pcrCall(t.url, SHORT, failed), 401, 'session_idle');
    expect((await pcrCall(t.url, SHORT, control)).status).toBe(200);
  });

  it('the global limits apply to keys without their own: demo-rw idles after 600 s', async () => {
    const token = await pcrLogin(t.url, RW);
    t.clock.advance(599_999);
    expect((await pcrCall(t.url, RW, token)).status).toBe(200);
    t.clock.advance(600 * SECOND);
    expectDenied(await pcrCall(t.url, RW, token), 401, 'session_idle');
  });
});

describe.each([
  { name: 'lifetime 0 and activity 0: no limit at all', lifetimeSeconds: 0, activitySeconds: 0 },
  { name: 'lifetime 0: only inactivity ends the session', lifetimeSeconds: 0, activitySeconds: 600 },
  { name: 'activity 0: only the lifetime ends the session', lifetimeSeconds: 3600, activitySeconds: 0 },
])('global sessions with $name', ({ lifetimeSeconds, activitySeconds }) => {
  const t = testProxyForSuite(
    withPcr((config) => {
      (config['pcr'] as { sessions: unknown }).sessions = { lifetimeSeconds, activitySeconds };
    }),
  );

  it('login reports the limits', async () => {
    const reply = await pcrLoginRequest(t.url, RW);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toMatchObject({
      expiresAt: lifetimeSeconds === 0 ? null : new Date(t.clock.now() + lifetimeSeconds * SECOND).toISOString(),
      inactivityTimeoutSeconds: activitySeconds,
    });
  });

  if (lifetimeSeconds === 0 && activitySeconds === 0) {
    it('a session survives months of silence', async () => {
      const token = await pcrLogin(t.url, RW);
      t.clock.advance(30 * DAY);
      expect((await pcrCall(t.url, RW, token)).status).toBe(200);
      t.clock.advance(400 * DAY);
      expect((await pcrCall(t.url, RW, token)).status).toBe(200);
    });
  }

  if (lifetimeSeconds === 0 && activitySeconds > 0) {
    it('steady use keeps a session well past any lifetime; idleness still ends it', async () => {
      const token = await pcrLogin(t.url, RW);
      for (let i = 0; i < 12; i++) {
        t.clock.advance(activitySeconds * SECOND - 1);
        expect((await pcrCall(t.url, RW, token)).status, `step ${i}`).toBe(200);
      }
      t.clock.advance(activitySeconds * SECOND);
      expectDenied(await pcrCall(t.url, RW, token), 401, 'session_idle');
    });
  }

  if (activitySeconds === 0 && lifetimeSeconds > 0) {
    it('a silent session lives to the last millisecond of its lifetime', async () => {
      const token = await pcrLogin(t.url, RW);
      t.clock.advance(lifetimeSeconds * SECOND - 1);
      expect((await pcrCall(t.url, RW, token)).status).toBe(200);
      t.clock.advance(1);
      expectDenied(await pcrCall(t.url, RW, token), 401, 'session_expired');
    });
  }

  it("a key's own limits still win over the global ones", async () => {
    const token = await pcrLogin(t.url, SHORT);
    t.clock.advance(SECOND);
    expect((await pcrCall(t.url, SHORT, token)).status).toBe(200);
    t.clock.advance(30 * SECOND);
    expectDenied(await pcrCall(t.url, SHORT, token), 401, 'session_idle');
  });
});

describe("the API user's session expiration date", () => {
  const t = testProxyForSuite(withPcr());

  it('caps the session at 12:30 whatever the activity, and refuses logins from then on', async () => {
    const capAt = Date.UTC(2026, 0, 15, 12, 30);
    expect(t.clock.now()).toBe(FROZEN_EPOCH);
    const reply = await pcrLoginRequest(t.url, RW, 'expiring-user');
    expect(JSON.parse(reply.text)).toMatchObject({ expiresAt: '2026-01-15T12:30:00.000Z', inactivityTimeoutSeconds: 600 });
    const token = (JSON.parse(reply.text) as { token: string }).token;
    const other = await pcrLogin(t.url, RW, 'api-user');

    for (const minute of [9, 18, 27]) {
      advanceTo(t, FROZEN_EPOCH + minute * MINUTE);
      expect((await pcrCall(t.url, RW, token)).status, `12:${minute}`).toBe(200);
      expect((await pcrCall(t.url, RW, other)).status).toBe(200);
    }
    advanceTo(t, capAt - 1);
    expect((await pcrCall(t.url, RW, token)).status).toBe(200);
    t.clock.advance(1);
    const ended = await pcrCall(t.url, RW, token);
    expect(ended.status).toBe(401);
    expect(['session_expired', 'user_disabled']).toContain(reasonOf(ended));
    // Another user's session opened at the same time is not affected.
    expect((await pcrCall(t.url, RW, other)).status).toBe(200);

    // Past its session expiry date the user is refused like a wrong password (the log says user_disabled).
    expectDenied(await pcrLoginRequest(t.url, RW, 'expiring-user'), 401, 'login_failed');
    expect((await pcrLoginRequest(t.url, RW, 'api-user')).status).toBe(200);
  });
});

describe("the API key's expiry date", () => {
  const t = testProxyForSuite(
    withPcr((config) => {
      const keys = (config['pcr'] as { keys: Array<Record<string, unknown>> }).keys;
      keys.find((k) => k['id'] === 'legacy')!['expiresAt'] = '2026-01-15T12:05:00Z';
      keys.find((k) => k['id'] === 'demo-rw')!['expiresAt'] = '2026-01-15T12:10:00Z';
      // A bare date keeps the key working through the whole of that day, UTC.
      keys.find((k) => k['id'] === 'expired')!['expiresAt'] = '2026-01-15';
    }),
  );

  it('stops the key at the exact instant, and ends sessions opened with it there too', async () => {
    const legacy = `/api/${PCR_ENV.PCR_LEGACY_KEY}/servicedesk.json`;
    const reply = await pcrLoginRequest(t.url, RW);
    // The key's expiry caps the session before the one-hour lifetime would.
    expect(JSON.parse(reply.text)).toMatchObject({ expiresAt: '2026-01-15T12:10:00.000Z' });
    const token = (JSON.parse(reply.text) as { token: string }).token;

    advanceTo(t, Date.UTC(2026, 0, 15, 12, 5) - 1);
    expect((await send(t.url + legacy)).status).toBe(200);
    expect((await pcrCall(t.url, RW, token)).status).toBe(200);
    t.clock.advance(1);
    expectDenied(await send(t.url + legacy), 401, 'api_key_expired');
    const xml = await send(`${t.url}/api/${PCR_ENV.PCR_LEGACY_KEY}/servicedesk.xml`);
    expect(xml.status).toBe(401);
    expect(xml.text).toContain('<error>api_key_expired</error>');
    expect((await pcrCall(t.url, RW, token)).status).toBe(200);

    advanceTo(t, Date.UTC(2026, 0, 15, 12, 10) - 1);
    expect((await pcrCall(t.url, RW, token)).status).toBe(200);
    t.clock.advance(1);
    expectDenied(await pcrCall(t.url, RW, token), 401, 'api_key_expired');
    expectDenied(await pcrLoginRequest(t.url, RW), 401, 'api_key_expired');
  });

  it('a bare date means the end of that day, UTC', async () => {
    const path = `/api/${PCR_ENV.PCR_EXPIRED_KEY}/servicedesk.json`;
    advanceTo(t, Date.UTC(2026, 0, 16) - 1);
    expect((await send(t.url + path)).status).toBe(200);
    t.clock.advance(1);
    expectDenied(await send(t.url + path), 401, 'api_key_expired');
  });
});

describe('a warm session on the memory store is decided from the local view', () => {
  const clock = new ManualClock(FROZEN_EPOCH);
  const store = new MemoryStore(memoryStoreOptions(), clock);
  const reads = { getSession: 0 };
  const counted = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'getSession') reads.getSession++;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const t = testProxyForSuite(() => ({ ...withPcr(), clock, store: counted }));

  it('reads the store at most once a second per session, and a session deleted in the store ends at once', async () => {
    const token = await pcrLogin(t.url, RW);
    const before = reads.getSession;
    for (let i = 0; i < 20; i++) expect((await pcrCall(t.url, RW, token)).status).toBe(200);
    expect(reads.getSession - before).toBe(0);
    t.clock.advance(1000);
    expect((await pcrCall(t.url, RW, token)).status).toBe(200);
    expect(reads.getSession - before).toBe(1);
    // Activity is written through on every use: the store's copy is as recent as the view's.
    const [session] = await store.listSessions({}, t.clock.now());
    expect(session!.lastActivity).toBe(t.clock.now());
    // An admin delete goes through the store, whose event reaches the view before the next request.
    expect(await store.deleteSessions({ user: 'api-user' })).toHaveLength(1);
    expectDenied(await pcrCall(t.url, RW, token), 401, 'session_ended');
  });
});
