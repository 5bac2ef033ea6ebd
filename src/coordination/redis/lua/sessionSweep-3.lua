-- Unfenced idle-session sweep. Returns the removed session ids.
-- KEYS[1] sessions hash   KEYS[2] sessions:seen zset   KEYS[3] sessions:users hash
-- ARGV[1] bound: ZRANGEBYSCORE max, e.g. "(1700000000000"   ARGV[2] limit
-- @include sweepSessions.lua
return sweepSessions(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
