// The request's journey as the stages share it: a bearer request costs the PCR-360 face no key hashing, an
// unattributable credential gets the most specific denial of the authenticators that declined it, logged paths
// are masked by where a key can stand, and config can name only the authenticators the registered faces offer.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateWith } from '../../src/authenticate/chain.js';
import { ABSENT, decline, DeclineSpecificity, type Authenticator, type AuthRequest } from '../../src/authenticate/contract.js';
import type { PcrFaceInstance } from '../../src/faces/pcr/face.js';
import { bearerDenial, BEARER_STYLE } from '../../src/respond/errors.js';
import { STANDING } from '../../src/session/liveness.js';
import { RequestTarget, targetViewKey } from '../../src/target/request-target.js';
import { SECRETS } from '../fixtures/secrets.js';
import { send } from '../helpers/http.js';
import { baseConfig, loadTestConfig, login, startTestProxy, withPcr, type TestProxy } from '../helpers/proxy.js';

describe('a bearer request through a proxy with both faces', () => {
  let t: TestProxy;
  let token: string;
  beforeAll(async () => {
    t = await startTestProxy(withPcr());
    token = (await login(t.url)).body['access_token'] as string;
  });
  afterAll(() => t.close());

  const pcrKeys = () => (t.proxy.runtime.faces.find((face) => face.id === 'pcr') as PcrFaceInstance).keyIndex;

  it('hashes no path segment once its path has been seen: the log mask and the two-credential check remember non-keys', async () => {
    const headers = { authorization: `Bearer ${token}` };
    expect((await send(`${t.url}/api/dashboard`, { headers })).status).toBe(200);
    const before = pcrKeys().hashes;
    for (let i = 0; i < 50; i++) expect((await send(`${t.url}/api/dashboard`, { headers })).status).toBe(200);
    expect(pcrKeys().hashes).toBe(before);
    const logged = t.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === 'request');
    expect(logged.at(-1)).toMatchObject({ path: '/api/dashboard', outcome: 'forwarded', auth: 'oauth' });
  });

  it('masks a key in paths that match no route or differ from the prefix only in letter case', async () => {
    expect((await send(`${t.url}/API/${SECRETS.rwKey}/servicedesk.json`)).status).toBe(404);
    expect((await send(`${t.url}/Api/${SECRETS.roKey}`)).status).toBe(404);
    const paths = t.logLines.map((line) => (JSON.parse(line) as Record<string, unknown>)['path']);
    expect(paths).toContain('/API/***/servicedesk.json');
    expect(paths).toContain('/Api/***');
    expect(t.logLines.join('\n')).not.toContain(SECRETS.rwKey);
    expect(t.logLines.join('\n')).not.toContain(SECRETS.roKey);
  });
});

describe('the authenticator chain', () => {
  const request: AuthRequest = { method: 'GET', target: new RequestTarget('/api/x', '', '/api/x'), headers: { authorization: 'Bearer abc' }, rawHeaders: ['Authorization', 'Bearer abc'] };
  const declining = (specificity: number, reason: Parameters<typeof bearerDenial>[0]): Authenticator => ({ id: `declines-${reason}`, authenticate: () => decline(specificity, bearerDenial(reason)) });
  const attributing: Authenticator = {
    id: 'attributes',
    authenticate: async () => ({ kind: 'identity', identity: { method: 'oauth', user: 'someone' }, credential: STANDING, carriedIn: 'header', denialStyle: BEARER_STYLE }),
  };

  it('reaches a second authenticator when the first cannot attribute the credential', async () => {
    const outcome = await authenticateWith([declining(DeclineSpecificity.unattributable, 'token_unknown_key'), attributing], request);
    expect(outcome).toMatchObject({ kind: 'identity', identity: { user: 'someone' } });
  });

  it('answers the most specific denial when every authenticator declines, the earlier one on a tie', async () => {
    const scheme = declining(DeclineSpecificity.otherScheme, 'scheme_unsupported');
    const unknownKey = declining(DeclineSpecificity.unattributable, 'token_unknown_key');
    const malformed = declining(DeclineSpecificity.unattributable, 'token_malformed');
    expect(await authenticateWith([scheme, unknownKey], request)).toMatchObject({ kind: 'denial', reason: 'token_unknown_key' });
    expect(await authenticateWith([unknownKey, scheme], request)).toMatchObject({ kind: 'denial', reason: 'token_unknown_key' });
    expect(await authenticateWith([malformed, unknownKey], request)).toMatchObject({ kind: 'denial', reason: 'token_malformed' });
    const absent: Authenticator = { id: 'absent', authenticate: () => ABSENT };
    expect(await authenticateWith([absent], request)).toMatchObject({ kind: 'denial', reason: 'scheme_unsupported' });
    expect(await authenticateWith([absent], { ...request, headers: {}, rawHeaders: [] })).toMatchObject({ kind: 'denial', reason: 'credentials_missing' });
  });
});

describe('the parsed target', () => {
  it('reads a path the way a face does at most once per request', () => {
    const target = new RequestTarget('/api/key/servicedesk.json', '', '/api/key/servicedesk.json');
    const key = targetViewKey<string | null>('test');
    let reads = 0;
    const read = (path: string) => {
      reads++;
      return path.length > 0 ? path : null;
    };
    for (let i = 0; i < 3; i++) expect(target.view(key, read)).toBe('/api/key/servicedesk.json');
    expect(reads).toBe(1);
  });
});

describe('config names only registered authenticators', () => {
  it('refuses an unknown authenticator id with the list of known ones', async () => {
    const raw = baseConfig('http://127.0.0.1:1');
    raw['routes'] = [{ id: 'api', path: '/api/**', authenticators: ['bearer', 'kerberos'] }];
    const error = (await loadTestConfig(raw).catch((e: unknown) => e)) as { problems?: string[] };
    expect(error.problems).toEqual([expect.stringMatching(/^routes\[0\]\.authenticators\[1\]: .*"bearer".*"pcr-api-key"/)]);
  });
});
