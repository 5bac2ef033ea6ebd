-- Reads owner, fence and remaining TTL in one snapshot. Returns {owner, fence, pttl} or false.
-- KEYS[1] lock key   KEYS[2] fence counter
-- ARGV: none
local owner = redis.call('GET', KEYS[1])
if not owner then
  return false
end
return { owner, tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('PTTL', KEYS[1]) }
