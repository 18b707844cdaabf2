// How records travel to and from Redis: the script arguments that write sessions and families, the hash fields
// read back into records, the relative TTLs, and the pub/sub messages: a revocation event, or news that managed
// credentials changed.

import { familyKeepUntil, sessionDeadline } from '../records.js';
import type { RevocationEvent, SessionRecord, TokenFamilyRecord } from '../store.js';

/**
 * Added to every relative TTL. Logical expiry is always decided against the caller's `now`; the Redis TTL only
 * garbage-collects, so it must not fire before a process whose clock runs slightly behind has stopped using a key.
 */
export const TTL_GRACE_MS = 10_000;

export const str = (n: number): string => String(n);
/** The TTL for a key that is dead at `at`: relative, because Redis and this process need not share a clock. */
export const relTtl = (at: number, now: number): number => Math.max(1, Math.ceil(at - now)) + TTL_GRACE_MS;
const orEmpty = (n: number | null): string => (n === null ? '' : String(n));
const orNull = (s: string): number | null => (s === '' ? null : Number(s));

/** Session hash fields read back: the record as JSON and the last activity, which touches rewrite alone. */
export const SESSION_FIELDS = ['d', 'la'] as const;
/** Family hash fields read back: the fixed part as JSON, then the fields that rotation and revocation rewrite. */
export const FAMILY_FIELDS = ['d', 'lu', 'rexp', 'aexp', 'rev'] as const;

/** ARGV of pcCreateSession. */
export function createSessionArgs(session: SessionRecord, now: number): string[] {
  const deadline = sessionDeadline(session);
  return [
    session.id,
    JSON.stringify(session),
    str(session.lastActivity),
    orEmpty(session.expiresAt),
    str(session.idleTimeoutMs),
    session.keyId,
    session.user,
    Number.isFinite(deadline) ? str(relTtl(deadline, now)) : '',
    session.expiresAt === null ? 'inf' : str(session.expiresAt),
    str(now),
    str(TTL_GRACE_MS),
  ];
}

/** ARGV of pcCreateFamily. */
export function createFamilyArgs(family: TokenFamilyRecord, hasRefreshToken: boolean, now: number): string[] {
  const keep = familyKeepUntil(family);
  const { id, clientId, subject, scope, createdAt } = family;
  return [
    id,
    JSON.stringify({ id, clientId, subject, scope, createdAt }),
    str(family.lastUsedAt),
    orEmpty(family.refreshExpiresAt),
    str(family.accessExpiresAt),
    orEmpty(family.revokedAt),
    str(relTtl(keep, now)),
    str(keep),
    hasRefreshToken ? '1' : '0',
    str(relTtl(family.refreshExpiresAt ?? now, now)),
    clientId,
    subject,
    str(now),
    str(TTL_GRACE_MS),
  ];
}

export function decodeSession(json: string, lastActivity: string): SessionRecord {
  const session = JSON.parse(json) as SessionRecord;
  session.lastActivity = Number(lastActivity);
  return session;
}

/** The session from its SESSION_FIELDS, or null when the hash is gone. */
export function decodeSessionFields(row: (string | null)[]): SessionRecord | null {
  const [json, lastActivity] = row;
  return json && lastActivity ? decodeSession(json, lastActivity) : null;
}

/** The family from its FAMILY_FIELDS, or null when the hash is gone or incomplete. */
export function decodeFamily(row: (string | null | undefined)[]): TokenFamilyRecord | null {
  const [json, lastUsedAt, refreshExpiresAt, accessExpiresAt, revokedAt] = row;
  if (!json || lastUsedAt == null || refreshExpiresAt == null || accessExpiresAt == null || revokedAt == null) {
    return null;
  }
  const base = JSON.parse(json) as Pick<TokenFamilyRecord, 'id' | 'clientId' | 'subject' | 'scope' | 'createdAt'>;
  return {
    ...base,
    lastUsedAt: Number(lastUsedAt),
    refreshExpiresAt: orNull(refreshExpiresAt),
    accessExpiresAt: Number(accessExpiresAt),
    revokedAt: orNull(revokedAt),
  };
}

/** A pub/sub message: the event, tagged with the sending store instance so it can skip its own. */
export function encodeRevocationMessage(origin: string, event: RevocationEvent): string {
  return JSON.stringify({ o: origin, e: event });
}

/**
 * The pub/sub message saying that managed credentials changed; which ones is left out, as listeners re-read them
 * all. It travels on the revocation channel, so no process needs another subscription.
 */
export function encodeCredentialsMessage(origin: string): string {
  return JSON.stringify({ o: origin, c: 1 });
}

export type ChannelMessage = { origin: unknown; event: RevocationEvent } | { origin: unknown; credentials: true };

/** The sender and content of a pub/sub message, or null when it is not one (anyone can publish on the channel). */
export function decodeChannelMessage(message: string): ChannelMessage | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return null;
  }
  const { o, e, c } = (parsed ?? {}) as { o?: unknown; e?: unknown; c?: unknown };
  if (isRevocationEvent(e)) return { origin: o, event: e };
  return c === 1 ? { origin: o, credentials: true } : null;
}

function isRevocationEvent(e: unknown): e is RevocationEvent {
  if (typeof e !== 'object' || e === null) return false;
  const v = e as Record<string, unknown>;
  if (v.kind === 'session' || v.kind === 'family') return typeof v.id === 'string';
  return v.kind === 'token' && typeof v.jti === 'string' && typeof v.until === 'number';
}
