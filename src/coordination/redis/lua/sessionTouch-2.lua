-- Refreshes lastSeenAt of a known session. Returns 1, or 0 when the session is unknown.
-- KEYS[1] sessions hash   KEYS[2] sessions:seen zset
-- ARGV[1] sid   ARGV[2] now (ms)
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
