-- Removes instances whose heartbeat expired at or before `now`; returns their ids.
-- Atomic, so two reapers never both report (and clean up after) the same instance.
-- KEYS[1] instances zset (id -> expiresAt)   KEYS[2] instances:info hash
-- ARGV[1] now (ms)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return dead
