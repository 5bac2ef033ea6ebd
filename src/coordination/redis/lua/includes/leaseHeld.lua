-- Fence check shared by guarded writes: true while `owner` still holds the lock key.
local function leaseHeld(lockKey, owner)
  return redis.call('GET', lockKey) == owner
end
