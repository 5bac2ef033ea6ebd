-- Extends the lease only if `owner` still holds it. Returns 1, or 0 when not held.
-- KEYS[1] lock key
-- ARGV[1] owner   ARGV[2] ttl (ms)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
