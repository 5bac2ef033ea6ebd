-- Marks (model, sid) at `now`; a new entry bumps its model count and the session's model list.
-- KEYS[1] usage:entries zset   KEYS[2] usage:bymodel zset (lex)   KEYS[3] usage:models hash
-- KEYS[4] usage:sessions hash (sid -> newline-joined models)
-- ARGV[1] model (no "\1" or "\n")   ARGV[2] sid   ARGV[3] now (ms)
local member = ARGV[1] .. '\1' .. ARGV[2]
if redis.call('ZADD', KEYS[1], ARGV[3], member) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], 0, member)
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
local list = redis.call('HGET', KEYS[4], ARGV[2])
if list then
  list = list .. '\n' .. ARGV[1]
else
  list = ARGV[1]
end
redis.call('HSET', KEYS[4], ARGV[2], list)
return 1
