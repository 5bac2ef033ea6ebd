-- Registers a task, when ARGV[3] > 0 only if its owner stays within that many running tasks:
-- the count and the write are one step, so creates racing on several instances can never
-- exceed the limit together (and none is refused while a slot is free).
-- Returns 1 when registered, 0 when refused (nothing written).
-- KEYS[1] tasks hash   KEYS[2] tasks:owner:<owner> set   KEYS[3] tasks:instance:<id> set
-- KEYS[4] tasks:item:<item> set (untouched when ARGV[4] is '0')
-- ARGV[1] task id   ARGV[2] record JSON   ARGV[3] limit (0 = none)   ARGV[4] '1' with an item, '0' without
-- ARGV[5..] ids of the owner's other tasks running on the caller: counted even when the registry
--           lost them (a Redis restart without persistence, before they are re-registered)
local limit = tonumber(ARGV[3])
if limit > 0 then
  -- With this task; counted twice only if already registered, which is asked only when it matters.
  local count = redis.call('SCARD', KEYS[2]) + 1
  if count > limit and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
    count = count - 1
  end
  local seen = { [ARGV[1]] = true }
  for i = 5, #ARGV do
    if count > limit then
      break
    end
    local id = ARGV[i]
    if not seen[id] then
      seen[id] = true
      if redis.call('SISMEMBER', KEYS[2], id) == 0 then
        count = count + 1
      end
    end
  end
  if count > limit then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[4], ARGV[1])
end
return 1
