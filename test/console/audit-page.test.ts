// The console's Audit page over HTTP: the change log newest first under the admin token's name, 50 to a page,
// Older and Newer links paging by seq, details as escaped JSON, and a malformed cursor refused.

import { describe, expect, it } from 'vitest';
import { signInToConsole, type ConsoleReply } from '../helpers/console-http.js';
import { adminApi, consoleProxyForSuite, OPS_TOKEN } from '../helpers/console-proxy.js';

const t = consoleProxyForSuite({ tokenNames: { manage: 'alice', read: 'rita' } });

/** Signs in through the form; a GET of a console page with the session cookie. */
async function signIn(token: string): Promise<(path: string) => Promise<ConsoleReply>> {
  const client = await signInToConsole(t.proxy.adminUrl, token);
  return (path) => client.get(`/console${path}`);
}

/** An audited change through the JSON API: ending a user's sessions is audited even when none were live. */
const endSessionsOf = (user: string) => adminApi(t, 'DELETE', `/admin/sessions?user=${encodeURIComponent(user)}`);

const rowsOf = (text: string): number[] => [...text.matchAll(/<tr id="audit-(\d+)">/g)].map((m) => Number(m[1]));

describe('console Audit page', () => {
  it('says so when nothing has changed yet', async () => {
    const get = await signIn(OPS_TOKEN);
    const page = await get('/audit');
    expect(page.status).toBe(200);
    expect(page.text).toContain('No changes have been made yet.');
    expect(page.text).not.toContain('id="audit-older"');
  });

  it('shows the newest 50 changes first and pages with Older and Newer', async () => {
    for (let i = 1; i <= 60; i++) expect((await endSessionsOf(`user-${i}`)).status).toBe(200);
    const get = await signIn(OPS_TOKEN);
    const first = await get('/audit');
    const seqs = rowsOf(first.text);
    expect(seqs).toHaveLength(50);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(first.text).toContain('user:user-60');
    expect(first.text).toContain('<td>alice</td>');
    expect(first.text).not.toContain('id="audit-newer"');
    const older = /href="([^"]+)" rel="next" id="audit-older"/.exec(first.text)?.[1];
    expect(older).toBe(`/console/audit?before=${seqs.at(-1)}`);

    const second = await get(older!.slice('/console'.length));
    expect(rowsOf(second.text)).toHaveLength(10);
    expect(second.text).toContain('user:user-1<');
    expect(second.text).not.toContain('id="audit-older"');
    expect(second.text).toMatch(/href="\/console\/audit" rel="prev" id="audit-newer"/);
  });

  it('shows before, after and detail as escaped JSON and never markup from a record', async () => {
    await endSessionsOf('<img src=x onerror=alert(1)>');
    const get = await signIn(OPS_TOKEN);
    const page = await get('/audit');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('user:&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).toMatch(/<details><summary aria-label="Show detail of change \d+">Show detail<\/summary><h3>Detail<\/h3><pre>\{\n {2}&quot;user&quot;: &quot;&lt;img/);
  });

  it('refuses a cursor that is not a seq', async () => {
    const get = await signIn(OPS_TOKEN);
    expect((await get('/audit?before=abc')).status).toBe(400);
    expect((await get('/audit?before=0')).status).toBe(400);
  });
});
