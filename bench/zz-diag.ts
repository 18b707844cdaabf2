import { verify, createPublicKey } from 'node:crypto';
import { mintAccessTokens } from '../src/cli/loadtest.js';
import { verifyJws } from '../src/tokens/jws.js';
import { generateSigningKey, KeyRing } from '../src/tokens/keyring.js';
const key = generateSigningKey('RS256', 'k');
const keys = KeyRing.fromKeys([key]);
const now = Math.floor(Date.now() / 1000);
const tokens = mintAccessTokens({ key: key.privateKey, kid: 'k', alg: 'RS256', issuer: 'portcullis', audience: 'itsm-api', subject: 's', clientId: 'c', scope: 'p', ttlSeconds: 3600 }, 5000, now);
const expect = { typ: 'at+jwt', issuer: 'portcullis', audience: 'itsm-api', leewaySeconds: 30 };
for (let round = 0; round < 3; round++) {
  let t = performance.now();
  for (const tok of tokens) verifyJws(tok, keys, expect, now);
  const a = (performance.now() - t) * 1000 / tokens.length;
  t = performance.now();
  for (const tok of tokens) { const d = tok.lastIndexOf('.'); verify('sha256', Buffer.from(tok.slice(0, d), 'ascii'), key.publicKey, Buffer.from(tok.slice(d + 1), 'base64url')); }
  const b = (performance.now() - t) * 1000 / tokens.length;
  const pub = createPublicKey(key.privateKey);
  t = performance.now();
  for (const tok of tokens) { const d = tok.lastIndexOf('.'); verify('sha256', Buffer.from(tok.slice(0, d), 'ascii'), pub, Buffer.from(tok.slice(d + 1), 'base64url')); }
  const c = (performance.now() - t) * 1000 / tokens.length;
  console.log('verifyJws µs', a.toFixed(1), 'raw verify (ring key) µs', b.toFixed(1), 'raw verify (createPublicKey) µs', c.toFixed(1));
}
