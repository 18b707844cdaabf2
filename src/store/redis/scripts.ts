// The Lua scripts behind every check-then-write of the Redis store, so each stays atomic across processes.
// ioredis defines them as commands on every client built with `scripts: REDIS_SCRIPTS`; runScript and
// queueScript call them by name. The managed credentials' scripts live in credential-scripts.ts.

import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { CREDENTIAL_SCRIPTS } from './credential-scripts.js';

// Lua. Numbers arrive as decimal strings and are passed back untouched wherever possible, so no
// epoch-millisecond value is ever reformatted by Lua's 14-digit number printing.
//
// Indexes are sorted sets scored by the member's absolute end ('inf' when it has none): members that are
// certainly dead can be dropped by score, and the index key can expire together with its longest-lived member.
const REINDEX = `
local function reindex(key, member, score, now, grace)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  redis.call('ZADD', key, score, member)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] == 'inf' then
    redis.call('PERSIST', key)
  else
    local ttl = tonumber(top[2]) - tonumber(now) + grace
    if ttl < 1 then ttl = 1 end
    redis.call('PEXPIRE', key, string.format('%d', ttl))
  end
end
`;

export const REDIS_SCRIPTS = {
  // KEYS: session, idx all, idx key, idx user
  // ARGV: id, json, lastActivity, expiresAt|'', idleTimeoutMs, keyId, user, ttl|'', score, now, grace
  pcCreateSession: {
    numberOfKeys: 4,
    lua: `${REINDEX}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'la', ARGV[3], 'exp', ARGV[4], 'idle', ARGV[5], 'k', ARGV[6], 'u', ARGV[7])
if ARGV[8] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[8]) end
for i = 2, 4 do reindex(KEYS[i], ARGV[1], ARGV[9], ARGV[10], tonumber(ARGV[11])) end
return 1`,
  },
  // Fails when the key is gone, so a touch racing a delete can never bring the session back.
  // KEYS: session. ARGV: now, grace. Returns {json, lastActivity} or nil.
  pcTouchSession: {
    numberOfKeys: 1,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'd', 'la', 'exp', 'idle')
if not v[1] then return false end
local now = tonumber(ARGV[1])
local la = tonumber(v[2])
local idle = tonumber(v[4])
local deadline = nil
if v[3] ~= '' then deadline = tonumber(v[3]) end
if deadline ~= nil and now >= deadline then return false end
if idle > 0 and now >= la + idle then return false end
local newla = v[2]
if now > la then
  newla = ARGV[1]
  la = now
  redis.call('HSET', KEYS[1], 'la', newla)
end
if idle > 0 and (deadline == nil or la + idle < deadline) then deadline = la + idle end
if deadline == nil then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], string.format('%d', deadline - now + tonumber(ARGV[2])))
end
return {v[1], newla}`,
  },
  // KEYS: session. ARGV: filterByKey '1'|'0', keyId, filterByUser '1'|'0', user.
  // Returns nil when missing, 0 when it does not match, {keyId, user} when deleted.
  pcDeleteSession: {
    numberOfKeys: 1,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'k', 'u')
if not v[1] then return false end
if (ARGV[1] == '1' and v[1] ~= ARGV[2]) or (ARGV[3] == '1' and v[2] ~= ARGV[4]) then return 0 end
redis.call('DEL', KEYS[1])
return v`,
  },
  // KEYS: family, refresh token, idx all, idx client, idx subject
  // ARGV: id, json, lastUsedAt, refreshExpiresAt|'', accessExpiresAt, revokedAt|'', familyTtl, keepUntil,
  //       hasToken '1'|'0', tokenTtl, clientId, subject, now, grace
  pcCreateFamily: {
    numberOfKeys: 5,
    lua: `${REINDEX}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'lu', ARGV[3], 'rexp', ARGV[4], 'aexp', ARGV[5], 'rev', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
if ARGV[9] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'f', ARGV[1], 'c', '0', 'e', ARGV[4], 'ci', ARGV[11], 'su', ARGV[12])
  redis.call('PEXPIRE', KEYS[2], ARGV[10])
end
for i = 3, 5 do reindex(KEYS[i], ARGV[1], ARGV[8], ARGV[13], tonumber(ARGV[14])) end
return 1`,
  },
  // The refresh-token entry names its family, but a script may only touch keys it declares, so the caller
  // looks the family up first; the entry's family never changes, so that read cannot go stale.
  // KEYS: token, family, next token, idx all, idx client, idx subject
  // ARGV: now, next refreshExpiresAt, next accessExpiresAt, grace, familyId, clientId, subject, next keepUntil
  // Returns {status[, json, lastUsedAt, refreshExpiresAt, accessExpiresAt, revokedAt, newlyRevoked]}.
  pcRedeem: {
    numberOfKeys: 6,
    lua: `${REINDEX}
local t = redis.call('HMGET', KEYS[1], 'f', 'c', 'e')
if not t[1] or t[1] ~= ARGV[5] then return {'unknown'} end
local now = tonumber(ARGV[1])
if now >= tonumber(t[3]) then return {'expired'} end
local f = redis.call('HMGET', KEYS[2], 'd', 'lu', 'rexp', 'aexp', 'rev')
if not f[1] then return {'unknown'} end
local keep = tonumber(f[4])
if f[3] ~= '' and tonumber(f[3]) > keep then keep = tonumber(f[3]) end
if now >= keep then return {'expired'} end
if t[2] == '1' then
  local newly = '0'
  if f[5] == '' then
    f[5] = ARGV[1]
    newly = '1'
    redis.call('HSET', KEYS[2], 'rev', ARGV[1])
  end
  return {'reused', f[1], f[2], f[3], f[4], f[5], newly}
end
if f[5] ~= '' then return {'revoked'} end
local grace = tonumber(ARGV[4])
local function px(at)
  local ttl = tonumber(at) - now + grace
  if ttl < 1 then ttl = 1 end
  return string.format('%d', ttl)
end
redis.call('HSET', KEYS[1], 'c', '1', 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], px(ARGV[2]))
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'f', ARGV[5], 'c', '0', 'e', ARGV[2], 'ci', ARGV[6], 'su', ARGV[7])
redis.call('PEXPIRE', KEYS[3], px(ARGV[2]))
redis.call('HSET', KEYS[2], 'lu', ARGV[1], 'rexp', ARGV[2], 'aexp', ARGV[3])
redis.call('PEXPIRE', KEYS[2], px(ARGV[8]))
for i = 4, 6 do reindex(KEYS[i], ARGV[5], ARGV[8], ARGV[1], grace) end
return {'rotated', f[1], ARGV[1], ARGV[2], ARGV[3], ''}`,
  },
  // KEYS: family. ARGV: now. Returns 1 when the family exists (and is now revoked), else 0.
  pcRevokeFamily: {
    numberOfKeys: 1,
    lua: `
local f = redis.call('HMGET', KEYS[1], 'rexp', 'aexp', 'rev')
if not f[2] then return 0 end
local now = tonumber(ARGV[1])
local keep = tonumber(f[2])
if f[1] ~= '' and tonumber(f[1]) > keep then keep = tonumber(f[1]) end
if now >= keep then return 0 end
if f[3] == '' then redis.call('HSET', KEYS[1], 'rev', ARGV[1]) end
return 1`,
  },
  // Keeps the later of two revocations of the same jti. KEYS: jti. ARGV: until, ttl.
  pcRevokeToken: {
    numberOfKeys: 1,
    lua: `
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`,
  },
  // The counter's hash also holds the login attempts under way ('h:<id>' fields, see pcHoldAttempt), which a new
  // window keeps. KEYS: counter. ARGV: now, resetAt for a new window, ttl for a new window. Returns {count, resetAt}.
  pcRecordFailure: {
    numberOfKeys: 1,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'c', 'r')
if v[1] and tonumber(ARGV[1]) < tonumber(v[2]) then
  return {tostring(redis.call('HINCRBY', KEYS[1], 'c', 1)), v[2]}
end
redis.call('HSET', KEYS[1], 'c', '1', 'r', ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {'1', ARGV[2]}`,
  },
  // Holds one login attempt on a user's counter unless failures plus attempts held reach the limit. A hold ends
  // at Redis's own time (effects are replicated, so TIME is allowed), independent of every process's clock.
  // KEYS: counter. ARGV: now, limit, holdMs, holdId. Returns {'held'}, {'busy'} or {'blocked', resetAt}.
  pcHoldAttempt: {
    numberOfKeys: 1,
    lua: `
local t = redis.call('TIME')
local wall = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'c', 'r')
local count = 0
if v[1] and tonumber(ARGV[1]) < tonumber(v[2]) then count = tonumber(v[1]) end
if count >= limit then return {'blocked', v[2]} end
local all = redis.call('HGETALL', KEYS[1])
local held = 0
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'h:' then
    if tonumber(all[i + 1]) <= wall then redis.call('HDEL', KEYS[1], all[i]) else held = held + 1 end
  end
end
if count + held >= limit then return {'busy'} end
local hold = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'h:' .. ARGV[4], string.format('%d', wall + hold))
if redis.call('PTTL', KEYS[1]) < hold then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {'held'}`,
  },
  ...CREDENTIAL_SCRIPTS,
} as const satisfies Record<string, { numberOfKeys: number; lua: string }>;

export type ScriptName = keyof typeof REDIS_SCRIPTS;
export type ScriptArg = string | number;

type ScriptCommands<R> = Record<ScriptName, (...args: ScriptArg[]) => R>;

/** Runs one script; the reply is as Redis sent it. */
export function runScript(client: Redis | Cluster, name: ScriptName, keys: string[], args: ScriptArg[]): Promise<unknown> {
  const command = (client as unknown as ScriptCommands<Promise<unknown>>)[name];
  return command.call(client, ...keys, ...args);
}

/** Adds one script call to a pipeline; its reply comes with the pipeline's. */
export function queueScript(pipeline: ChainableCommander, name: ScriptName, keys: string[], args: ScriptArg[]): void {
  const command = (pipeline as unknown as ScriptCommands<unknown>)[name];
  command.call(pipeline, ...keys, ...args);
}
