-- Usage sweep that runs only while the caller holds the lease (a fenced write).
-- Returns how many entries were removed, or -1 (ScriptStatus.LeaseLost) when the lease is not held.
-- KEYS[1] usage:entries zset   KEYS[2] usage:bymodel zset   KEYS[3] usage:models hash   KEYS[4] usage:sessions hash
-- KEYS[5] lock key
-- ARGV[1] bound: ZRANGEBYSCORE max, e.g. "(1700000000000"   ARGV[2] limit   ARGV[3] lease owner
-- @include leaseHeld.lua
-- @include sweepUsage.lua
if not leaseHeld(KEYS[5], ARGV[3]) then
  return -1
end
return sweepUsage(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2])
