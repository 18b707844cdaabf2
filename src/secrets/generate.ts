// Secrets the proxy makes up: API keys, client secrets and passwords, 256 random bits, URL-safe (43 characters).

import { randomBytes } from 'node:crypto';

export const generatedSecret = (): string => randomBytes(32).toString('base64url');
