// The `store` section: the memory store's bounds, the SQLite store's file, or how to reach Redis (single node,
// Sentinel or Cluster), with their defaults, and the one decision that may fail open while the store is unreachable.

import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { duration, secretSource } from './fields.js';

/**
 * Decisions that may go ahead on this process's own knowledge while the store is unreachable. Everything not
 * listed here fails closed (503). `bearerRevocationCheck`: the store check of an access token this process has
 * not seen before (or not since a resync); when true, such a token is accepted on the local revocation view.
 */
const storeFailOpen = z
  .strictObject({
    bearerRevocationCheck: z.boolean().default(false),
  })
  .prefault({});

const redisStore = z.strictObject({
  type: z.literal('redis'),
  url: z.string().optional(),
  host: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  db: z.number().int().min(0).optional(),
  username: z.string().optional(),
  password: secretSource.optional(),
  tls: z
    .union([
      z.boolean(),
      z.strictObject({
        caFile: z.string().optional(),
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      }),
    ])
    .default(false),
  /** Prepended to every key and to the revocation channel. */
  keyPrefix: z.string().default('portcullis:'),
  sentinel: z
    .strictObject({
      name: z.string(),
      nodes: z.array(z.strictObject({ host: z.string(), port: z.number().int() })).min(1),
      password: secretSource.optional(),
    })
    .optional(),
  cluster: z.strictObject({ nodes: z.array(z.strictObject({ host: z.string(), port: z.number().int() })).min(1) }).optional(),
  /**
   * Redis replicates asynchronously, so a write the master acknowledged can be lost when it fails over before
   * replicating. Revocations (logouts, ended sessions, revoked grants and tokens, refresh-token reuse) and
   * managed-credential changes therefore wait (WAIT) until `replicas` replicas have them, at most `timeout`,
   * before they are answered; one that is not confirmed in time answers 503 (it is in force on the master, and
   * repeating it is safe). `replicas` defaults to 1 with `sentinel` and to 0 (no waiting) otherwise; `timeout`
   * defaults to 250 ms or half of `commandTimeout`, whichever is shorter, and must be shorter than
   * `commandTimeout`. Not available with `cluster`.
   */
  replicationWait: z
    .strictObject({
      replicas: z.number().int().min(0).optional(),
      timeout: duration('250ms').optional(),
    })
    .prefault({}),
  /** How long a process trusts its local copy of a session before asking Redis again. */
  sessionCacheTtl: duration('1s').prefault('1s'),
  /** Session activity is written to Redis at most this often per session (bounds inactivity-timeout accuracy). */
  activityWriteInterval: duration('5s').prefault('5s'),
  /** Upper bound for every single Redis command. */
  commandTimeout: duration('500ms').prefault('500ms'),
  /** Upper bound for establishing a connection to Redis. */
  connectTimeout: duration('2s').prefault('2s'),
  failOpen: storeFailOpen,
});

/**
 * A family holds one live refresh token plus the consumed ones still kept for reuse detection, so unless
 * configured the memory store keeps this many refresh-token entries per family it can hold.
 */
const REFRESH_TOKENS_PER_FAMILY = 4;

/**
 * Bounds of the in-process store's maps: beyond its bound each forgets its least recently used entry. The maps
 * preallocate their bookkeeping for the full bound at startup.
 */
const memoryStore = z
  .strictObject({
    type: z.literal('memory'),
    maxSessions: z.number().int().min(1).default(100_000),
    maxFamilies: z.number().int().min(1).default(100_000),
    /** Live and consumed refresh tokens; default REFRESH_TOKENS_PER_FAMILY × maxFamilies. */
    maxRefreshTokens: z.number().int().min(1).optional(),
    /** Revoked access-token ids, each kept until the token would have expired anyway. */
    maxRevocations: z.number().int().min(1).default(100_000),
    /** Login-failure counters (one per username and one per client address). */
    maxFailureKeys: z.number().int().min(1).default(100_000),
    failOpen: storeFailOpen,
  })
  .transform(({ maxRefreshTokens, ...store }) => ({
    ...store,
    maxRefreshTokens: maxRefreshTokens ?? store.maxFamilies * REFRESH_TOKENS_PER_FAMILY,
  }));

/**
 * One database file that keeps every record across restarts, for a single process. A relative `path` is
 * relative to the config file's directory (the loader resolves it), as `{ file }` secret sources are.
 */
const sqliteStore = z.strictObject({
  type: z.literal('sqlite'),
  path: z.string().min(1, { error: 'expected the path of the database file' }),
  /** Session activity is written to the file at most this often per session, so a warm request writes nothing. */
  activityWriteInterval: duration('5s').prefault('5s'),
  failOpen: storeFailOpen,
});

/** Makes a relative SQLite `path` relative to `baseDir`, the config file's directory. */
export function resolveStorePaths<T extends { type: string; path?: string }>(store: T, baseDir: string): T {
  if (store.type !== 'sqlite' || store.path === undefined || isAbsolute(store.path)) return store;
  return { ...store, path: resolve(baseDir, store.path) };
}

/** The store section on its own, so the store's defaults can be read without a whole config. */
export const storeSchema = z.discriminatedUnion('type', [memoryStore, sqliteStore, redisStore]);
