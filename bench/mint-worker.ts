// Child process of mintInParallel: signs its share of the tokens and sends them back.

import { createPrivateKey } from 'node:crypto';
import { mintAccessTokens, type MintSettings } from '../src/cli/loadtest.js';

process.once('message', (message) => {
  const { settings, count } = message as { settings: Omit<MintSettings, 'key'> & { keyPem: string }; count: number };
  const { keyPem, ...rest } = settings;
  process.send?.(mintAccessTokens({ ...rest, key: createPrivateKey(keyPem) }, count));
});
