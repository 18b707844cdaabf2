// The Lua scripts behind the Redis store's managed credentials and audit log. Each write compares the record's
// version, writes or removes it, appends the audit entry under a fresh seq, trims the log to its retention and
// publishes the change, all in one script: no process can see the record without its audit entry, or miss the
// notification of a write that landed. scripts.ts registers them with the others.
//
// Every key is under the {c} hash tag, so in a cluster each script addresses a single slot.
//
// Lua never parses or re-encodes a record's JSON (cjson would turn `[]` into `{}` and reformat numbers). Records
// are stored as `{"version":V,"createdAt":C,"updatedAt":U,` followed by the rest the caller encoded; that fixed
// opening is the only part a script reads, with an anchored pattern that nothing in the data can imitate.
// Audit entries are likewise stored as `{"seq":N,` followed by the rest of the caller's JSON.

// Shared by the three write scripts.
// KEYS[1] credential hash, KEYS[2] audit list, KEYS[3] audit seq.
const AUDIT = `
local function append(json, retention)
  local seq = redis.call('INCR', KEYS[3])
  local body = string.sub(json, 2)
  if body == '}' then body = '' else body = ',' .. body end
  local entry = '{"seq":' .. seq .. body
  -- Newest first, so listing and trimming both start from the head.
  redis.call('LPUSH', KEYS[2], entry)
  redis.call('LTRIM', KEYS[2], 0, tonumber(retention) - 1)
  return entry
end
`;

const HEADER = `
local function header(record)
  local v, c = string.match(record, '^{"version":([^,]+),"createdAt":([^,]+),')
  return tonumber(v), c
end
`;

export const CREDENTIAL_SCRIPTS = {
  // ARGV: field, expected version ('' = must not exist), now, rest of the record JSON (after its opening `{`),
  //       audit JSON, retention, channel, message.
  // Returns {1, record} when written, {0, current record or ''} on a version conflict.
  pcPutCredential: {
    numberOfKeys: 3,
    lua: `${AUDIT}${HEADER}
local current = redis.call('HGET', KEYS[1], ARGV[1])
local version, created = 0, ARGV[3]
if current then version, created = header(current) end
if ARGV[2] == '' then
  if current then return {0, current} end
elseif not current or version ~= tonumber(ARGV[2]) then
  return {0, current or ''}
end
local record = '{"version":' .. string.format('%d', version + 1) .. ',"createdAt":' .. created ..
  ',"updatedAt":' .. ARGV[3] .. ',' .. ARGV[4]
redis.call('HSET', KEYS[1], ARGV[1], record)
append(ARGV[5], ARGV[6])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return {1, record}`,
  },
  // ARGV: field, expected version, audit JSON, retention, channel, message.
  // Returns {1, removed record} when removed, {0, current record or ''} on a version conflict.
  pcRemoveCredential: {
    numberOfKeys: 3,
    lua: `${AUDIT}${HEADER}
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return {0, ''} end
local version = header(current)
if version ~= tonumber(ARGV[2]) then return {0, current} end
redis.call('HDEL', KEYS[1], ARGV[1])
append(ARGV[3], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {1, current}`,
  },
  // An audit entry without a credential write: nothing for listeners to re-read, so nothing is published.
  // ARGV: audit JSON, retention. Returns the entry.
  pcAppendAudit: {
    numberOfKeys: 3,
    lua: `${AUDIT}
return append(ARGV[1], ARGV[2])`,
  },
  // Reads one page newest first. Seqs in the list are consecutive (each INCR is pushed in the same script), so
  // the first entry below `before` is found by arithmetic from the head; the loops only correct for gaps.
  // KEYS[1] audit list. ARGV: before ('' = from the newest), limit. Returns the entries.
  pcListAudit: {
    numberOfKeys: 1,
    lua: `
local limit = tonumber(ARGV[2])
if limit < 1 then return {} end
local function seq(i)
  local entry = redis.call('LINDEX', KEYS[1], i)
  if not entry then return nil end
  return tonumber(string.match(entry, '^{"seq":(%d+)'))
end
local start = 0
if ARGV[1] ~= '' then
  local before = tonumber(ARGV[1])
  local top = seq(0)
  if not top then return {} end
  start = top - before + 1
  if start < 0 then start = 0 end
  local s = seq(start)
  while s and s >= before do
    start = start + 1
    s = seq(start)
  end
  if not s then return {} end
  while start > 0 and seq(start - 1) < before do start = start - 1 end
end
return redis.call('LRANGE', KEYS[1], start, start + limit - 1)`,
  },
} as const satisfies Record<string, { numberOfKeys: number; lua: string }>;
