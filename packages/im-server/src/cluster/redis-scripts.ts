/**
 * Lua scripts of RedisPresence. Each touches exactly one key (KEYS[1], built by keys.ts), except the
 * batched refresh, which runs the same one-key logic over many keys in one call (standalone Redis;
 * on a Redis Cluster it would have to be split by hash slot). Expiry stamps use Redis' own clock (TIME), so instances with
 * skewed clocks agree on what is expired. Location values are "expiresAtMs|instanceId|connId"
 * (keys.ts); instance ids never contain "|", so the first two "|" delimit the fields.
 *
 * The hash key's own TTL is kept at the latest field expiry, so a user whose every location
 * expired disappears from Redis without any sweeper.
 */

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function expiry(v)
  local e = string.match(v, '^(%d+)|')
  if e then return tonumber(e) end
  return 0
end
local function owner(v)
  local a = string.find(v, '|', 1, true)
  if not a then return '' end
  return string.sub(v, a + 1)
end
local function stamp(ms)
  return string.format('%.0f', ms)
end
`;

/**
 * KEYS[1] location hash; ARGV platform, instanceId, connId, ttlMs, channel.
 * Writes the location, prunes expired fields, extends the key TTL to the latest expiry, publishes
 * KEYS[1] on the channel (instances caching this user's locations drop them), and returns the
 * previous live value of the field (or false).
 */
export const REGISTER_LUA = `${PRELUDE}
local ttl = tonumber(ARGV[4])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and expiry(old) <= now then old = false end
local maxExp = now + ttl
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] then
    local e = expiry(all[i + 1])
    if e <= now then redis.call('HDEL', KEYS[1], all[i])
    elseif e > maxExp then maxExp = e end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], stamp(now + ttl) .. '|' .. ARGV[2] .. '|' .. ARGV[3])
redis.call('PEXPIREAT', KEYS[1], stamp(maxExp))
redis.call('PUBLISH', ARGV[5], KEYS[1])
return old
`;

/**
 * KEYS[1] location hash; ARGV platform, instanceId, connId.
 * Compare-and-delete: removes the field only if it holds this instance's connection. Returns 1
 * if a live entry was removed, 0 otherwise (an expired own entry is removed but returns 0).
 */
export const UNREGISTER_LUA = `${PRELUDE}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
if owner(v) ~= ARGV[2] .. '|' .. ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if expiry(v) > now then return 1 end
return 0
`;

/**
 * KEYS location hashes; ARGV ttlMs, instanceId, then one (platform, connId) pair per key.
 * Compare-and-refresh of each: extends the entry if it is this connection's, writes it if missing
 * or expired, and leaves a live entry of another connection alone. Batched so the periodic
 * refresh of ~20,000 locations costs ~100 commands instead of ~20,000 (one ioredis command costs
 * the instance ~25 CPU-µs). Returns the number of entries written.
 */
export const REFRESH_MANY_LUA = `${PRELUDE}
local ttl = tonumber(ARGV[1])
local written = 0
for i = 1, #KEYS do
  local field = ARGV[2 * i + 1]
  local me = ARGV[2] .. '|' .. ARGV[2 * i + 2]
  local v = redis.call('HGET', KEYS[i], field)
  if not (v and owner(v) ~= me and expiry(v) > now) then
    redis.call('HSET', KEYS[i], field, stamp(now + ttl) .. '|' .. me)
    local pttl = redis.call('PTTL', KEYS[i])
    if pttl < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
    written = written + 1
  end
end
return written
`;

/** Locations per {@link REFRESH_MANY_LUA} call: bounds the time Redis spends in one script. */
export const REFRESH_BATCH = 200;

/** Script table for ioredis' defineCommand: name -> Lua (numberOfKeys absent: passed per call). */
export const PRESENCE_SCRIPTS = {
  hximRegister: { numberOfKeys: 1, lua: REGISTER_LUA },
  hximUnregister: { numberOfKeys: 1, lua: UNREGISTER_LUA },
  hximRefreshMany: { lua: REFRESH_MANY_LUA },
} as const;
