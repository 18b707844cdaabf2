// Suite lifecycles: a test proxy (with its own recording upstream unless given one) started before a suite's tests
// and closed after them, and the resets between tests, so a suite states what it runs against in one line.

import { afterAll, beforeAll, beforeEach } from 'vitest';
import { FROZEN_EPOCH } from './fixtures.js';
import { startTestProxy, type TestProxy, type TestProxyOptions } from './proxy.js';

/** Options known when the suite is declared, or worked out when it starts (after earlier hooks have run). */
type Later<T> = T | (() => T | Promise<T>);

/**
 * Starts a proxy in beforeAll and closes it in afterAll of the suite this is called in. The handle reads the
 * running proxy, so the suite uses it like the TestProxy itself; reading it outside the suite's tests throws.
 */
export function testProxyForSuite(options: Later<TestProxyOptions> = {}): TestProxy {
  let running: TestProxy | undefined;
  beforeAll(async () => {
    running = await startTestProxy(typeof options === 'function' ? await options() : options);
  });
  afterAll(async () => {
    await running?.close();
    running = undefined;
  });
  const current = (): TestProxy => {
    if (running === undefined) throw new Error('the test proxy is only running during its suite');
    return running;
  };
  return {
    get proxy() {
      return current().proxy;
    },
    get upstream() {
      return current().upstream;
    },
    get clock() {
      return current().clock;
    },
    get url() {
      return current().url;
    },
    get port() {
      return current().port;
    },
    get logLines() {
      return current().logLines;
    },
    close: () => current().close(),
  };
}

/**
 * Before each test of the suite: the upstream forgets what it recorded and answers as by default again, so a test
 * sees only its own requests; with `clock`, the frozen clock is also put back at FROZEN_EPOCH.
 */
export function resetBeforeEachTest(t: TestProxy, options: { clock?: boolean } = {}): void {
  beforeEach(() => {
    if (options.clock) t.clock.set(FROZEN_EPOCH);
    t.upstream.reset();
  });
}
