-- Removes up to `limit` usage entries marked before `bound` (ZRANGEBYSCORE max such as
-- "(1700000000000"); a model left with no entries is deleted. Returns how many.
-- Redis calls are batched: one ZREM per zset for the whole batch and one HINCRBY per
-- model, so the cost per expired entry is the session-list update alone.
local function dropModelsFromSession(sessionsKey, sid, gone)
  local list = redis.call('HGET', sessionsKey, sid)
  if not list then return end
  local kept = {}
  for m in string.gmatch(list, '[^\n]+') do
    if not gone[m] then kept[#kept + 1] = m end
  end
  if #kept == 0 then
    redis.call('HDEL', sessionsKey, sid)
  else
    redis.call('HSET', sessionsKey, sid, table.concat(kept, '\n'))
  end
end

local UNPACK_CHUNK = 500 -- stays far below Lua's unpack() stack limit

local function zremAll(key, members)
  for i = 1, #members, UNPACK_CHUNK do
    redis.call('ZREM', key, unpack(members, i, math.min(i + UNPACK_CHUNK - 1, #members)))
  end
end

local function sweepUsage(entriesKey, byModelKey, modelsKey, sessionsKey, bound, limit)
  local members = redis.call('ZRANGEBYSCORE', entriesKey, '-inf', bound, 'LIMIT', 0, limit)
  if #members == 0 then return 0 end
  zremAll(entriesKey, members)
  zremAll(byModelKey, members)
  local perModel, perSession = {}, {}
  for _, member in ipairs(members) do
    local sep = string.find(member, '\1', 1, true)
    local model = string.sub(member, 1, sep - 1)
    local sid = string.sub(member, sep + 1)
    perModel[model] = (perModel[model] or 0) + 1
    local gone = perSession[sid]
    if not gone then
      gone = {}
      perSession[sid] = gone
    end
    gone[model] = true
  end
  for model, n in pairs(perModel) do
    if redis.call('HINCRBY', modelsKey, model, -n) <= 0 then
      redis.call('HDEL', modelsKey, model)
    end
  end
  for sid, gone in pairs(perSession) do
    dropModelsFromSession(sessionsKey, sid, gone)
  end
  return #members
end
