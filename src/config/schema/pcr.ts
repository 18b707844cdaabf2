// The `pcr` section: the PCR-360 face's path prefix, sections, request types, session limits, API keys and API
// users, with their defaults.

import { z } from 'zod';
import { secretSource } from './fields.js';

export const sectionId = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a lower-case section id');
export const isoDate = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$/.test(s) && !Number.isNaN(Date.parse(s)), {
    message: 'expected a date like "2027-12-31" or "2027-12-31T23:59:59Z"',
  })
  // A bare date means the whole day is included: the key works until the next midnight, UTC (exclusive).
  .transform((s) => (s.length === 10 ? Date.parse(`${s}T00:00:00Z`) + 86_400_000 : Date.parse(s)));

export const sessionLimits = z.strictObject({
  lifetimeSeconds: z.number().int().min(0).optional(),
  activitySeconds: z.number().int().min(0).optional(),
});

export const apiKeySchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a lower-case id'),
  description: z.string().default(''),
  /** SHA-256 hash of the key as clients send it (`portcullis generate-key` prints both), or { env } / { file }. */
  key: secretSource,
  expiresAt: isoDate.optional(),
  read: z.array(sectionId).default([]),
  write: z.array(sectionId).default([]),
  tokenAuth: z.boolean().default(false),
  sessions: sessionLimits.optional(),
  /**
   * What the upstream sees in place of the client's key: `remove` drops the key segment from the path, or a key the
   * legacy backend knows, read from env or a file (never written in the config).
   */
  upstreamKey: z
    .union([z.literal('remove'), z.strictObject({ env: z.string() }), z.strictObject({ file: z.string() })], {
      error: 'expected "remove", { env: NAME } or { file: PATH }',
    })
    .default('remove'),
});

export const apiUserSchema = z.strictObject({
  login: z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces'),
  password: secretSource,
  keys: z.array(z.string()).min(1),
  sessionExpiresAt: isoDate.optional(),
});

const DEFAULT_REQUEST_TYPES: Record<string, { section: string; readOnly: boolean }> = {
  servicedesk: { section: 'servicedesk', readOnly: false },
  'servicedesk.SO': { section: 'servicedesk', readOnly: false },
  'servicedesk.IN': { section: 'servicedesk', readOnly: false },
  services: { section: 'services', readOnly: false },
  equipment: { section: 'equipment', readOnly: false },
  snmp: { section: 'snmp', readOnly: false },
  sql: { section: '*', readOnly: true },
};

export const pcrSchema = z.strictObject({
  /** Path prefix under which `/KEY/REQUEST.OUTPUT` requests arrive. */
  pathPrefix: z.string().regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/).default('/api'),
  sections: z.array(sectionId).min(1).default(['services', 'equipment', 'servicedesk', 'snmp']),
  requestTypes: z
    .record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)?$/, 'expected a request type like "servicedesk.SO"'),
      z.strictObject({ section: z.union([sectionId, z.literal('*')]), readOnly: z.boolean().default(false) }),
    )
    .default(DEFAULT_REQUEST_TYPES),
  reportSection: sectionId.default('servicedesk'),
  outputs: z.array(z.enum(['json', 'xml', 'php'])).min(1).default(['json', 'xml', 'php']),
  sessions: z
    .strictObject({
      lifetimeSeconds: z.number().int().min(0).default(28_800),
      activitySeconds: z.number().int().min(0).default(1_800),
    })
    .prefault({}),
  keys: z.array(apiKeySchema).default([]),
  users: z.array(apiUserSchema).default([]),
});
