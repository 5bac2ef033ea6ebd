-- Adds or replaces a session; a session rebound to another user moves its count.
-- KEYS[1] sessions hash (sid -> JSON)   KEYS[2] sessions:seen zset   KEYS[3] sessions:users hash
-- ARGV[1] sid   ARGV[2] userId   ARGV[3] session JSON   ARGV[4] lastSeenAt (ms)
local prev = redis.call('HGET', KEYS[1], ARGV[1])
if prev then
  local prevUser = cjson.decode(prev).userId
  if prevUser ~= ARGV[2] then
    if redis.call('HINCRBY', KEYS[3], prevUser, -1) <= 0 then
      redis.call('HDEL', KEYS[3], prevUser)
    end
    redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
  end
else
  redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 0
