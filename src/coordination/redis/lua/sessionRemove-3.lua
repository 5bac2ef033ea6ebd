-- Removes a session and decrements its user's count (the user goes at 0). No-op when unknown.
-- KEYS[1] sessions hash   KEYS[2] sessions:seen zset   KEYS[3] sessions:users hash
-- ARGV[1] sid
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then
  return 0
end
local userId = cjson.decode(json).userId
if redis.call('HINCRBY', KEYS[3], userId, -1) <= 0 then
  redis.call('HDEL', KEYS[3], userId)
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
