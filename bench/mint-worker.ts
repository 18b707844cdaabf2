// Child process of mintPool: signs its share of the tokens and sends them back in chunks, each one Buffer of the
// tokens back to back with their end offsets, so a million tokens cost their bytes and not a million strings.

import { createPrivateKey } from 'node:crypto';
import { mintAccessTokens, type MintSettings } from '../src/cli/loadtest.js';

const CHUNK = 10_000;

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (error) => (error ? reject(error) : resolve())));
}

process.once('message', async (message) => {
  const { settings, count } = message as { settings: Omit<MintSettings, 'key'> & { keyPem: string }; count: number };
  const { keyPem, ...rest } = settings;
  const key = createPrivateKey(keyPem);
  for (let done = 0; done < count; done += CHUNK) {
    const tokens = mintAccessTokens({ ...rest, key }, Math.min(CHUNK, count - done));
    const ends = new Uint32Array(tokens.length);
    let offset = 0;
    tokens.forEach((token, i) => (ends[i] = offset += token.length));
    await send({ data: Buffer.from(tokens.join(''), 'latin1'), ends });
  }
  await send({ done: true });
  process.disconnect();
});
