-- Compare-and-delete: deletes the lock only if `owner` holds it. Returns 1, or 0 when not held.
-- KEYS[1] lock key
-- ARGV[1] owner
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
