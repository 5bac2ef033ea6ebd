-- Removes up to `limit` usage entries marked before `bound` (ZRANGEBYSCORE max such as
-- "(1700000000000"); a model left with no entries is deleted. Returns how many.
local function dropModelFromSession(sessionsKey, sid, model)
  local list = redis.call('HGET', sessionsKey, sid)
  if not list then return end
  local kept = {}
  for m in string.gmatch(list, '[^\n]+') do
    if m ~= model then kept[#kept + 1] = m end
  end
  if #kept == 0 then
    redis.call('HDEL', sessionsKey, sid)
  else
    redis.call('HSET', sessionsKey, sid, table.concat(kept, '\n'))
  end
end

local function sweepUsage(entriesKey, byModelKey, modelsKey, sessionsKey, bound, limit)
  local members = redis.call('ZRANGEBYSCORE', entriesKey, '-inf', bound, 'LIMIT', 0, limit)
  for _, member in ipairs(members) do
    local sep = string.find(member, '\1', 1, true)
    local model = string.sub(member, 1, sep - 1)
    local sid = string.sub(member, sep + 1)
    redis.call('ZREM', entriesKey, member)
    redis.call('ZREM', byModelKey, member)
    if redis.call('HINCRBY', modelsKey, model, -1) <= 0 then
      redis.call('HDEL', modelsKey, model)
    end
    dropModelFromSession(sessionsKey, sid, model)
  end
  return #members
end
