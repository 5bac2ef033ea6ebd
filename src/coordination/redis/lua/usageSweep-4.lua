-- Unfenced usage sweep. Returns how many entries were removed.
-- KEYS[1] usage:entries zset   KEYS[2] usage:bymodel zset   KEYS[3] usage:models hash   KEYS[4] usage:sessions hash
-- ARGV[1] bound: ZRANGEBYSCORE max, e.g. "(1700000000000"   ARGV[2] limit
-- @include sweepUsage.lua
return sweepUsage(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2])
