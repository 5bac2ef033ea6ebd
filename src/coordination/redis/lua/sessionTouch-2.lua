-- Refreshes lastSeenAt of known sessions, a heartbeat window's worth at once.
-- Returns the sids that are unknown (usually none); a touch never creates a session.
-- KEYS[1] sessions hash   KEYS[2] sessions:seen zset
-- ARGV pairs: sid, now (ms), sid, now, …
local unknown = {}
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i])
  else
    unknown[#unknown + 1] = ARGV[i]
  end
end
return unknown
