-- Takes the lease if free (SET NX PX) and draws the next fence in the same step.
-- Returns the fence, or false (nil reply) when someone holds the lock.
-- KEYS[1] lock key (holds the owner)   KEYS[2] fence counter
-- ARGV[1] owner   ARGV[2] ttl (ms)
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return false
end
return redis.call('INCR', KEYS[2])
