-- Idle-session sweep that runs only while the caller holds the lease (a fenced write).
-- Returns the removed session ids, or -1 (ScriptStatus.LeaseLost) when the lease is not held.
-- KEYS[1] sessions hash   KEYS[2] sessions:seen zset   KEYS[3] sessions:users hash   KEYS[4] lock key
-- ARGV[1] bound: ZRANGEBYSCORE max, e.g. "(1700000000000"   ARGV[2] limit   ARGV[3] lease owner
-- @include leaseHeld.lua
-- @include sweepSessions.lua
if not leaseHeld(KEYS[4], ARGV[3]) then
  return -1
end
return sweepSessions(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
