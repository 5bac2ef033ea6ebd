-- Drops every entry of a session (disconnect); a model left with no entries is deleted.
-- Returns how many entries were removed.
-- KEYS[1] usage:entries zset   KEYS[2] usage:bymodel zset   KEYS[3] usage:models hash   KEYS[4] usage:sessions hash
-- ARGV[1] sid
local list = redis.call('HGET', KEYS[4], ARGV[1])
if not list then
  return 0
end
local removed = 0
for model in string.gmatch(list, '[^\n]+') do
  local member = model .. '\1' .. ARGV[1]
  if redis.call('ZREM', KEYS[1], member) == 1 then
    redis.call('ZREM', KEYS[2], member)
    if redis.call('HINCRBY', KEYS[3], model, -1) <= 0 then
      redis.call('HDEL', KEYS[3], model)
    end
    removed = removed + 1
  end
end
redis.call('HDEL', KEYS[4], ARGV[1])
return removed
