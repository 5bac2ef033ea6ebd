-- Removes up to `limit` sessions last seen before `bound` (a ZRANGEBYSCORE max such
-- as "(1700000000000") and fixes the per-user counts; returns their ids.
local function sweepSessions(sessionsKey, seenKey, usersKey, bound, limit)
  local sids = redis.call('ZRANGEBYSCORE', seenKey, '-inf', bound, 'LIMIT', 0, limit)
  for _, sid in ipairs(sids) do
    local json = redis.call('HGET', sessionsKey, sid)
    if json then
      local userId = cjson.decode(json).userId
      if redis.call('HINCRBY', usersKey, userId, -1) <= 0 then
        redis.call('HDEL', usersKey, userId)
      end
      redis.call('HDEL', sessionsKey, sid)
    end
    redis.call('ZREM', seenKey, sid)
  end
  return sids
end
