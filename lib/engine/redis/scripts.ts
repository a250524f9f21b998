/**
 * The Lua scripts of the Redis engine. Each runs atomically inside Redis, so a publish (dedup,
 * offset, stream, channel) is one step no matter how many Fanout processes share the Redis.
 *
 * Keys of one room share the hash tag `{room}`. The stream's entry ids are `<offset>-0`, so a
 * range of offsets is a plain `XRANGE`.
 *
 * @module
 */

/**
 * Makes sure the room exists, returning its epoch and offset: a missing epoch or offset key, or a
 * missing stream while the offset is above 0, means the history was lost, so a new epoch starts.
 * The caller passes what it knows of the room (epoch, offset, ts of the message at that offset):
 * when Redis holds that epoch but has fallen behind the offset, or holds another message at it,
 * its history was rolled back (restored from a snapshot, a lagging replica) and the offsets after
 * it were given twice, so the epoch is renamed (compare-and-set on the old one, in this atomic
 * script); the stream and offset are kept.
 * KEYS: epoch, offset, stream. Shared by the scripts below (defined once per script).
 */
const ENSURE = `
local function diverged(offset, kOffset, kTs)
  if kOffset > offset then return true end
  if kOffset <= 0 or kTs == '' then return false end
  local entry = redis.call('XRANGE', KEYS[3], kOffset .. '-0', kOffset .. '-0')[1]
  if not entry then return false end
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 't' then return fields[i + 1] ~= kTs end
  end
  return false
end
local function ensure(candidate, kEpoch, kOffset, kTs)
  local epoch = redis.call('GET', KEYS[1])
  local offset = tonumber(redis.call('GET', KEYS[2]))
  if epoch and offset and (offset == 0 or redis.call('EXISTS', KEYS[3]) == 1) then
    if epoch == kEpoch and diverged(offset, tonumber(kOffset), kTs) then
      redis.call('SET', KEYS[1], candidate)
      return candidate, offset
    end
    return epoch, offset
  end
  redis.call('DEL', KEYS[3])
  redis.call('SET', KEYS[1], candidate)
  redis.call('SET', KEYS[2], 0)
  return candidate, 0
end
local function touch(ttl)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
`;

/**
 * Publish. KEYS: epoch, offset, stream, [ref]. ARGV: channel, candidate epoch, stream cap,
 * room ttl ms, dedup ttl ms, ts, body (a JSON object of from/client/name/text), known epoch
 * ('' for none), known offset, ts of the message at the known offset ('' for none), text hash.
 * The ref key holds `"offset:ts:hash"`. Returns `{0, "offset:ts:hash"}` for a known ref (the
 * caller compares the hash), else `{1, epoch, offset}`.
 */
export const PUBLISH_LUA = ENSURE + `
if KEYS[4] then
  local seen = redis.call('GET', KEYS[4])
  if seen then return {0, seen} end
end
local epoch = ensure(ARGV[2], ARGV[8], ARGV[9], ARGV[10])
local offset = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], offset .. '-0', 'd', ARGV[7], 't', ARGV[6])
touch(ARGV[4])
if KEYS[4] then
  redis.call('SET', KEYS[4], offset .. ':' .. ARGV[6] .. ':' .. ARGV[11], 'PX', ARGV[5])
end
redis.call('PUBLISH', ARGV[1],
  '{"e":"' .. epoch .. '","o":' .. offset .. ',"t":' .. ARGV[6] .. ',"d":' .. ARGV[7] .. '}')
return {1, epoch, offset}
`;

/**
 * Read a room's position and part of its stream. KEYS: epoch, offset, stream. ARGV: candidate
 * epoch, room ttl ms, resume epoch ('' for none), since, most entries after since, recent count,
 * known epoch, known offset, known ts (as for publish), and the most bytes of message bodies to
 * return (0 for no bound).
 * When the resume epoch matches, at most that many entries follow `since` and their bodies fit in
 * the byte bound, returns `{epoch, offset, 1, entries after since, ts}`, else `{epoch, offset, 0,
 * last recent entries that fit, newest first, ts}`; `ts` is that of the entry at `offset` (false
 * when there is none).
 */
export const READ_LUA = ENSURE + `
local epoch, offset = ensure(ARGV[1], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[2])
local maxBytes = tonumber(ARGV[10]) or 0
local function size(entry)
  local n = 0
  for i = 2, #entry[2], 2 do n = n + #entry[2][i] end
  return n
end
local ts = false
if offset > 0 then
  local entry = redis.call('XRANGE', KEYS[3], offset .. '-0', offset .. '-0')[1]
  if entry then
    for i = 1, #entry[2], 2 do
      if entry[2][i] == 't' then ts = entry[2][i + 1] end
    end
  end
end
local since = tonumber(ARGV[4])
if ARGV[3] == epoch and since >= 0 and since <= offset and offset - since <= tonumber(ARGV[5]) then
  if since == offset then return {epoch, offset, 1, {}, ts} end
  local entries = redis.call('XRANGE', KEYS[3], (since + 1) .. '-0', '+', 'COUNT', offset - since)
  local fits = true
  if maxBytes > 0 then
    local total = 0
    for i = 1, #entries do
      total = total + size(entries[i])
      if total > maxBytes then
        fits = false
        break
      end
    end
  end
  if fits then return {epoch, offset, 1, entries, ts} end
end
local recent = tonumber(ARGV[6])
if recent <= 0 or offset == 0 then return {epoch, offset, 0, {}, ts} end
local entries = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', recent)
if maxBytes > 0 then
  local total, kept = 0, {}
  for i = 1, #entries do
    total = total + size(entries[i])
    if total > maxBytes then break end
    kept[#kept + 1] = entries[i]
  end
  entries = kept
end
return {epoch, offset, 0, entries, ts}
`;

/**
 * Presence tick. KEYS: for each room, its presence hash, its epoch, offset and stream keys, and
 * this instance's members hash. ARGV: instance id, presence ttl ms, room ttl ms, then per room:
 * the local count, `1` when the members are written whole (the hash deleted first), how many
 * members the instance has, how many follow to set and to delete, the `id, JSON` pairs to set,
 * the ids to delete.
 * Writes this instance's count and members (or removes both at 0), drops expired entries with
 * their instance's members, keeps rooms with members alive, and returns per room `{remote count,
 * epoch or false, offset, 1 when the members hash did not hold as many members as the instance
 * has}`. The members hash lives twice the presence ttl; readers ignore it once the instance's
 * presence entry has expired (`MEMBERS_LUA`).
 */
export const PRESENCE_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local me, ttl, roomTtl = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local a = 4
local out = {}
for i = 1, #KEYS / 5 do
  local presence, members = KEYS[i * 5 - 4], KEYS[i * 5]
  local base = string.sub(members, 1, #members - #me)
  local count, whole, expected = tonumber(ARGV[a]), ARGV[a + 1] == '1', tonumber(ARGV[a + 2])
  local sets, deletes = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  a = a + 5
  local resync = 0
  if count > 0 then
    redis.call('HSET', presence, me, count .. ':' .. (now + ttl))
    redis.call('PEXPIRE', presence, ttl * 2)
    for k = i * 5 - 3, i * 5 - 1 do redis.call('PEXPIRE', KEYS[k], roomTtl) end
    if whole then redis.call('DEL', members) end
    for _ = 1, sets do
      redis.call('HSET', members, ARGV[a], ARGV[a + 1])
      a = a + 2
    end
    for _ = 1, deletes do
      redis.call('HDEL', members, ARGV[a])
      a = a + 1
    end
    if redis.call('HLEN', members) ~= expected then resync = 1 end
    if expected > 0 then redis.call('PEXPIRE', members, ttl * 2) end
  else
    a = a + sets * 2 + deletes
    redis.call('HDEL', presence, me)
    redis.call('DEL', members)
  end
  local remote = 0
  local fields = redis.call('HGETALL', presence)
  for f = 1, #fields, 2 do
    local n, expires = string.match(fields[f + 1], '^(%d+):(%d+)$')
    if not expires or tonumber(expires) <= now then
      redis.call('HDEL', presence, fields[f])
      redis.call('DEL', base .. fields[f])
    elseif fields[f] ~= me then
      remote = remote + tonumber(n)
    end
  end
  out[#out + 1] = remote
  out[#out + 1] = redis.call('GET', KEYS[i * 5 - 3])
  out[#out + 1] = tonumber(redis.call('GET', KEYS[i * 5 - 2]) or '0')
  out[#out + 1] = resync
end
return out
`;

/**
 * Members of a room on the other instances. KEYS: the room's presence hash, this instance's
 * members hash (the others' are named like it, with their instance id). ARGV: instance id, most
 * members returned. Reads the members hashes of the instances whose presence entry has not
 * expired (an instance that died is no longer listed once its entry expires) and returns
 * `{their count, up to that many member JSON values}`.
 */
export const MEMBERS_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local me, limit = ARGV[1], tonumber(ARGV[2])
local base = string.sub(KEYS[2], 1, #KEYS[2] - #me)
local out = {}
local remote = 0
local fields = redis.call('HGETALL', KEYS[1])
for f = 1, #fields, 2 do
  local n, expires = string.match(fields[f + 1], '^(%d+):(%d+)$')
  local live = fields[f] ~= me and expires and tonumber(expires) > now
  if live then remote = remote + tonumber(n) end
  if live and #out < limit then
    local seen = {}
    local cursor = '0'
    repeat
      local page = redis.call('HSCAN', base .. fields[f], cursor, 'COUNT', limit - #out)
      cursor = page[1]
      local items = page[2]
      for k = 1, #items, 2 do
        if #out < limit and not seen[items[k]] then
          seen[items[k]] = true
          out[#out + 1] = items[k + 1]
        end
      end
    until cursor == '0' or #out >= limit
  end
end
return {remote, out}
`;

/** A script with its SHA-1, for `EVALSHA` with a fallback to `EVAL`. */
export interface LuaScript {
  source: string;
  sha: string;
}

/**
 * Computes the SHA-1 Redis uses to name a script.
 *
 * @example
 * ```ts
 * const publish = await luaScript(PUBLISH_LUA);
 * publish.sha.length; // 40
 * ```
 */
export async function luaScript(source: string): Promise<LuaScript> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(source));
  const sha = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { source, sha };
}

/** Sends one raw command (the shape of `client.sendCommand`). */
export type SendCommand = (args: string[]) => Promise<unknown>;

/**
 * Runs a script by SHA and falls back to sending its source when Redis does not know it yet
 * (first use, or after a Redis restart).
 *
 * @example
 * ```ts
 * const reply = await runScript((args) => client.sendCommand(args), publish, keys, argv);
 * ```
 */
export async function runScript(
  send: SendCommand,
  script: LuaScript,
  keys: string[],
  argv: string[],
): Promise<unknown> {
  const rest = [String(keys.length), ...keys, ...argv];
  try {
    return await send(["EVALSHA", script.sha, ...rest]);
  } catch (err) {
    if (!String((err as Error)?.message ?? err).includes("NOSCRIPT")) throw err;
    return await send(["EVAL", script.source, ...rest]);
  }
}
