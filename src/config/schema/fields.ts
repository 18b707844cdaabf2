// Field types the config sections share: durations like "1h30m", secret sources, header names, identity
// attribute values, addresses and CIDR ranges.

import { z } from 'zod';
import { isIP } from 'node:net';
import { parseDuration } from '../duration.js';

export function isAddressOrCidr(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  if (extra !== undefined || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** The notation parseDuration reads, for editors checking a file against the JSON Schema; the loader parses. */
const DURATION_PATTERN = String.raw`^\s*(0|(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)\s*$`;

export const duration = (example = '1h30m') =>
  z
    .string({ error: `expected a duration like "${example}"` })
    .meta({ pattern: DURATION_PATTERN, description: `a duration like "${example}" (units d, h, m, s, ms, largest first)` })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like "${example}"` });
        return z.NEVER;
      }
      return ms;
    });

/** A secret or its hash: a literal string (only hashes are allowed literally), or `{ env: NAME }` / `{ file: PATH }`. */
export const secretSource = z.union(
  [
    z.string(),
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }),
    z.strictObject({ file: z.string().min(1) }),
  ],
  { error: 'expected a secret hash string, { env: NAME } or { file: PATH }' },
);
export type SecretSourceInput = z.infer<typeof secretSource>;

export const headerName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'expected an HTTP header name made of letters, digits and "-"');

// Identity attributes go into header values, so they must be printable and must not contain the separator.
export const attribute = z.string().regex(/^[\x21-\x2b\x2d-\x7e]([\x20-\x2b\x2d-\x7e]*[\x21-\x2b\x2d-\x7e])?$/, {
  message: 'expected printable ASCII without commas or surrounding spaces',
});
