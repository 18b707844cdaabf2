// The API Keys grid with ten thousand managed keys in real Chromium: it loads one page of rows, says how many
// there are in the pager, filters on the server and pages forward and back — all well within the time an admin
// would wait (the whole test stays under 20 seconds, store filling included).

import { expect, it } from 'vitest';
import { sha256KeyHash } from '../../src/config/secrets.js';
import type { KeyData } from '../../src/credentials/records.js';
import { MemoryStore } from '../../src/store/memory.js';
import { describeBrowser, signIn, useBrowser } from '../helpers/browser.js';
import { consoleProxyForSuite, OPS_TOKEN } from '../helpers/console-proxy.js';
import { FROZEN_EPOCH } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { memoryStoreOptions } from '../helpers/store-options.js';

const KEYS = 10_000;
const id = (n: number) => `bulk-${String(n).padStart(5, '0')}`;
let filled = 0;

/** A store that already holds the keys when the proxy starts, written as the admin API writes them. */
async function storeWithKeys(): Promise<MemoryStore> {
  const store = new MemoryStore(memoryStoreOptions());
  const started = Date.now();
  for (let n = 1; n <= KEYS; n++) {
    const data: KeyData = { description: `Bulk key number ${n}`, keyHash: sha256KeyHash(`bulk-key-secret-${n}`), read: n % 2 === 0 ? ['servicedesk'] : ['services'], write: [], expiresAt: null, tokenAuth: false, sessions: null };
    const written = await store.credentials.put('key', id(n), data, null, FROZEN_EPOCH, { at: FROZEN_EPOCH, actor: 'bulk', action: 'create', grid: 'keys', target: id(n), before: null, after: null });
    if (!written.ok) throw new Error(`could not write ${id(n)}`);
  }
  filled = Date.now() - started;
  return store;
}

describeBrowser('ten thousand API keys', () => {
  const t = consoleProxyForSuite({ store: storeWithKeys });
  const b = useBrowser();

  it('load, filter and page in the grid', async () => {
    const started = Date.now();
    expect(filled).toBeLessThan(10_000);
    // The keys are served, not only listed: one of them works on the public listener.
    expect((await send(`${t.url}/api/bulk-key-secret-4242/servicedesk.json`)).status).toBe(200);
    const { page } = b;
    await signIn(page, t.proxy.adminUrl, OPS_TOKEN);
    const pager = page.getByRole('navigation', { name: 'Pages of API keys' });
    // 10 000 managed keys and the five of the config file.
    expect(await pager.innerText()).toMatch(/1–50 of 10005 API keys, page 1 of 201/);
    expect(await page.locator('table tbody tr').count()).toBe(50);

    await page.getByRole('link', { name: 'Next' }).click();
    expect(await pager.innerText()).toMatch(/51–100 of 10005 API keys, page 2 of 201/);
    expect(await page.locator('table tbody tr').count()).toBe(50);
    await page.getByRole('link', { name: 'Previous' }).click();
    expect(await pager.innerText()).toMatch(/1–50 of 10005 API keys, page 1 of 201/);

    await page.getByLabel('Filter keys').fill('bulk-0420');
    await page.getByRole('button', { name: 'Filter' }).click();
    expect(await pager.innerText()).toMatch(/1–10 of 10 API keys, page 1 of 1/);
    const ids = await page.locator('table tbody th[scope="row"]').allInnerTexts();
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => id(4200 + i)));
    expect(await page.getByRole('link', { name: 'Next' }).count()).toBe(0);

    await page.getByLabel('Filter keys').fill('number 9999');
    await page.getByRole('button', { name: 'Filter' }).click();
    expect(await pager.innerText()).toMatch(/1–1 of 1 API keys/);
    expect(await page.getByRole('cell', { name: 'Bulk key number 9999', exact: true }).isVisible()).toBe(true);

    // The last page, sorted the other way round.
    await page.goto(`${t.proxy.adminUrl}/console/keys?sort=id&order=desc&page=201`);
    expect(await pager.innerText()).toMatch(/10001–10005 of 10005 API keys, page 201 of 201/);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});
