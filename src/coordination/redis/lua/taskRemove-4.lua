-- Removes a task from the hash and from its instance, owner and item sets (an emptied set
-- disappears with its last member). No-op for an unknown task.
-- KEYS[1] tasks hash   KEYS[2] tasks:instance:<id> set   KEYS[3] tasks:owner:<owner> set (untouched when ARGV[2] is '0')
-- KEYS[4] tasks:item:<item> set (untouched when ARGV[3] is '0')
-- ARGV[1] task id   ARGV[2] '1' when the owner is known   ARGV[3] '1' with an item
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('SREM', KEYS[3], ARGV[1])
end
if ARGV[3] == '1' then
  redis.call('SREM', KEYS[4], ARGV[1])
end
return 1
