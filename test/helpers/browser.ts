// Real Chromium for the console journeys, through playwright-core: one headless browser per test file and a fresh
// context (cookies, storage, permissions) per test. Without a Chromium binary the browser suites are skipped with
// a loud warning, unless CI / PORTCULLIS_REQUIRE_CHROMIUM=1 asks for them, when the run fails instead. Also the
// console sign-in every journey starts with, the session cookie and CSRF token a forged request needs, and where
// screenshots go.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect } from 'vitest';
import { isExecutable, toolRequired } from '../setup/external-tools.js';

export type { Browser, BrowserContext, Page } from 'playwright-core';

/** What page.evaluate callbacks reach through globalThis: the page's own globals (the tests compile without the DOM library). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PageGlobals = { document: any; window: any; navigator: any };

/** The Chromium to drive: PORTCULLIS_CHROMIUM, or Debian's package. */
export const CHROMIUM_PATH = process.env.PORTCULLIS_CHROMIUM || '/usr/bin/chromium';

/** Set in CI, or by hand, to turn "no Chromium available" from a skip into a failure. */
export const chromiumRequired = (): boolean => toolRequired('CHROMIUM');

export const chromiumAvailable = isExecutable(CHROMIUM_PATH);

if (!chromiumAvailable) {
  if (chromiumRequired()) {
    throw new Error(`Chromium is required for this test run (CI or PORTCULLIS_REQUIRE_CHROMIUM=1) but ${CHROMIUM_PATH} is missing. Install chromium or set PORTCULLIS_CHROMIUM.`);
  }
  console.warn(`\n!!! SKIPPING the console browser journeys: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set PORTCULLIS_CHROMIUM) !!!\n`);
}

/** A journey drives several pages through a real browser: more than the suite's default per test. */
export const JOURNEY_TIMEOUT = 60_000;

/** `describe` for suites that drive a browser: skipped when there is no Chromium (see above). */
export const describeBrowser: typeof describe = chromiumAvailable ? describe : (describe.skip as typeof describe);

// Playwright refuses --user-data-dir in `args`: `launch` gives every browser a fresh temporary profile itself.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface BrowserHandle {
  readonly browser: Browser;
  /** This test's context. */
  readonly context: BrowserContext;
  /** This test's first page. */
  readonly page: Page;
  /** Another context, closed after the test too (a second admin, or a narrower window). */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
}

/** Launches Chromium for the enclosing suite and opens a fresh context and page before each of its tests. */
export function useBrowser(options: BrowserContextOptions = {}): BrowserHandle {
  let browser: Browser | undefined;
  let contexts: BrowserContext[] = [];
  let page: Page | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    browser = undefined;
  });
  const newContext = async (extra: BrowserContextOptions = {}): Promise<BrowserContext> => {
    if (!browser) throw new Error('the browser only runs during its suite');
    const context = await browser.newContext({ ...options, ...extra });
    context.setDefaultTimeout(5000);
    contexts.push(context);
    return context;
  };
  beforeEach(async () => {
    page = await (await newContext()).newPage();
  });
  afterEach(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    contexts = [];
    page = undefined;
  });
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`no ${what}: useBrowser() handles are read inside tests`);
    return value;
  };
  return {
    get browser() {
      return need(browser, 'browser');
    },
    get context() {
      return need(contexts[0], 'context');
    },
    get page() {
      return need(page, 'page');
    },
    newContext,
  };
}

/** Signs in on the console at `adminUrl` with `token` and waits for the API Keys page; says what was shown instead. */
export async function signIn(page: Page, adminUrl: string, token: string): Promise<void> {
  await page.goto(`${adminUrl}/console/sign-in`);
  await page.getByLabel('Admin token').fill(token);
  const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.waitForLoadState('domcontentloaded');
  if (new URL(page.url()).pathname !== '/console/keys') {
    const shown = await page.locator('h1, [role="alert"]').allInnerTexts();
    throw new Error(`console sign-in did not reach /console/keys: the POST answered ${answer.status()}, the page shows ${JSON.stringify(shown)}`);
  }
  await expect.poll(() => page.getByText(/Signed in as/).isVisible()).toBe(true);
}

/** The session cookie's value in a context, for plain HTTP requests that replay it. */
export async function sessionCookie(context: BrowserContext): Promise<string> {
  const cookie = (await context.cookies()).find((c) => c.name === 'portcullis_console');
  if (!cookie) throw new Error('not signed in: no portcullis_console cookie');
  return cookie.value;
}

/** The CSRF token the current page's forms carry. */
export async function csrfOf(page: Page): Promise<string> {
  const value = await page.locator('input[name="_csrf"]').first().getAttribute('value');
  if (!value) throw new Error('the page has no _csrf field');
  return value;
}

export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'screenshots');

/** Where a screenshot named `name` goes (the directory is made). */
export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return join(SCREENSHOT_DIR, `${name}.png`);
}
