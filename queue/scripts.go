package queue

import "github.com/redis/go-redis/v9"

// Steps that must check state before they write run as Lua scripts: a
// script is as atomic as MULTI but can make a write depend on a read
// (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/).
// The "#!lua" shebang (Redis 7.0) makes Redis refuse the whole script
// up front when it is out of memory, instead of failing half-way through:
// scripts do not roll back. Scripts name every key in KEYS, as Redis
// Cluster requires.
type scripts struct {
	deadLetter *redis.Script
	replay     *redis.Script
	cleanup    *redis.Script
}

func newScripts() scripts {
	return scripts{
		deadLetter: redis.NewScript(deadLetterLua),
		replay:     redis.NewScript(replayLua),
		cleanup:    redis.NewScript(cleanupLua),
	}
}

// deadLetterLua moves a pending entry to the dead stream.
// KEYS: stream, dead stream. ARGV: group, id, consumer, payload, reason,
// failed_at, deliveries. Returns the dead entry's id, or nil when the entry
// is no longer pending for this consumer (already acked, dead-lettered, or
// reclaimed by another consumer, which now decides its fate).
const deadLetterLua = `#!lua
local stream, dead = KEYS[1], KEYS[2]
local group, id, consumer = ARGV[1], ARGV[2], ARGV[3]
if #redis.call('XPENDING', stream, group, id, id, 1, consumer) == 0 then
  return false
end
local payload = ARGV[4]
local e = redis.call('XRANGE', stream, id, id)
if #e == 1 then
  local f = e[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'payload' then payload = f[i + 1] end
  end
end
local did = redis.call('XADD', dead, '*', 'payload', payload, 'reason', ARGV[5],
  'original_id', id, 'failed_at', ARGV[6], 'deliveries', ARGV[7])
redis.call('XACK', stream, group, id)
redis.call('XDEL', stream, id)
return did
`

// replayLua moves a dead entry back to the stream as a new entry.
// KEYS: dead stream, stream. ARGV: dead id. Returns the new id, or nil when
// the dead entry does not exist.
const replayLua = `#!lua
local dead, stream, id = KEYS[1], KEYS[2], ARGV[1]
local e = redis.call('XRANGE', dead, id, id)
if #e == 0 then return false end
local f = e[1][2]
for i = 1, #f, 2 do
  if f[i] == 'payload' then
    local nid = redis.call('XADD', stream, '*', 'payload', f[i + 1], 'replay_of', id)
    redis.call('XDEL', dead, id)
    return nid
  end
end
return redis.error_reply('dead entry ' .. id .. ' has no payload field')
`

// cleanupLua deletes the group's consumers that have no pending entries
// and have been idle at least ARGV[2] ms. Checking and deleting in one
// script matters: XGROUP DELCONSUMER discards the consumer's pending
// entries (https://redis.io/docs/latest/commands/xgroup-delconsumer/), so
// a consumer that read something after a separate check would lose it.
// KEYS: stream. ARGV: group, min idle ms. Returns the deleted names.
const cleanupLua = `#!lua
local stream, group, idle = KEYS[1], ARGV[1], tonumber(ARGV[2])
local gone = {}
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['pending'] == 0 and f['idle'] >= idle then
    redis.call('XGROUP', 'DELCONSUMER', stream, group, f['name'])
    table.insert(gone, f['name'])
  end
end
return gone
`
