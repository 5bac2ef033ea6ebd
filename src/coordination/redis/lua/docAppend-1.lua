-- Appends a document update and records the id of the entry before it, so a reader
-- whose cursor is not that id knows it missed entries (a trim while it was away,
-- an XREAD silently re-sent after a reconnect) and reloads the stored state.
-- KEYS[1] the document's stream
-- ARGV[1] origin instance id
-- ARGV[2] update bytes
-- Returns the new entry's id.
local prev = '0-0'
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then
  prev = last[1][1]
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  -- Trimmed empty: the last id ever generated is still the predecessor.
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then prev = info[i + 1] end
  end
end
return redis.call('XADD', KEYS[1], '*', 'o', ARGV[1], 'u', ARGV[2], 'p', prev)
