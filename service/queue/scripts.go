package queue

import "github.com/redis/go-redis/v9"

// The Lua scripts that make each multi-key step atomic: a process that dies
// between two Redis calls must never lose an entry nor add it twice. Every
// key a script touches is passed in KEYS (all under one hash tag).

// coalesced is a Lua fragment: true when the patient named by `key` already
// has an entry waiting in the stream. The waiting hash maps a key to the id
// of its waiting entry; an id no longer in the stream (deleted, or lost with
// a Redis restart) does not count, so a stale marker can never swallow work.
const coalesced = `
local function waiting(stream, marks, key)
  local cur = redis.call('HGET', marks, key)
  return cur and #redis.call('XRANGE', stream, cur, cur) > 0
end
`

// ownWriteReply is what enqueueScript answers for a version the service
// wrote itself (a stream id never looks like it).
const ownWriteReply = "own"

// enqueueScript adds an entry unless the resource version it names is one
// the service wrote itself, or its patient is already waiting.
// KEYS: stream, waiting, own version key of the resource. ARGV: key,
// version ("" skips the own-write check), field, value, ... Returns the new
// id, "" when coalesced, "own" for an own write.
//
// A notified version is the service's own when it equals the recorded one,
// or, both being decimal (as HAPI's are), precedes it: every Task write of
// the service is an If-Match update of the version its review read (or a
// create), so an earlier version was read, or replaced, by that review.
var enqueueScript = redis.NewScript(coalesced + `
if ARGV[2] ~= '' then
  local own = redis.call('GET', KEYS[3])
  if own then
    if own == ARGV[2] then return 'own' end
    if string.match(own, '^%d+$') and string.match(ARGV[2], '^%d+$') and #ARGV[2] <= 15 and #own <= 15
       and tonumber(ARGV[2]) < tonumber(own) then return 'own' end
  end
end
if waiting(KEYS[1], KEYS[2], ARGV[1]) then return '' end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('HSET', KEYS[2], ARGV[1], id)
return id
`)

// takeScript acquires the patient's lease and, only then, clears the
// patient's waiting marker if it still names this entry: from here on a new
// Enqueue adds a new entry, so a change during the handler is reviewed
// after it.
// KEYS: lease, waiting. ARGV: token, ttl ms, key, entry id. Returns 1, or 0
// when the lease is held elsewhere.
var takeScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[4] then redis.call('HDEL', KEYS[2], ARGV[3]) end
return 1
`)

// renewScript extends a lease still held with the token and resets the
// entry's idle time (XCLAIM JUSTID to its own consumer), so that a long
// handler's entry is not claimed by another replica.
// KEYS: lease, stream. ARGV: token, ttl ms, group, consumer, entry id.
// Returns 1, or 0 when the lease was lost.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local p = redis.call('XPENDING', KEYS[2], ARGV[3], ARGV[5], ARGV[5], 1, ARGV[4])
if #p > 0 then redis.call('XCLAIM', KEYS[2], ARGV[3], ARGV[4], 0, ARGV[5], 'JUSTID') end
return 1
`)

// releaseScript deletes a lock only if it still holds the token.
// KEYS: lock. ARGV: token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// ackScript acknowledges and deletes a finished entry, so the stream holds
// only work not yet done (its length is the queue's depth).
// KEYS: stream. ARGV: group, id.
var ackScript = redis.NewScript(`
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return n
`)

// rescheduleScript moves an entry from the stream to the delayed set (a
// retry, or a wait for a busy lease). If the entry is no longer pending,
// someone else already acknowledged or moved it, and nothing is added, so
// an entry is never doubled.
// KEYS: stream, delayed, waiting. ARGV: group, id, key, due ms, member.
var rescheduleScript = redis.NewScript(`
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('HGET', KEYS[3], ARGV[3]) == ARGV[2] then redis.call('HDEL', KEYS[3], ARGV[3]) end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
return 1
`)

// deadLetterScript moves an entry from the stream to the dead-letter
// stream. KEYS: stream, dead. ARGV: group, id, max dead letters, field,
// value, ...
var deadLetterScript = redis.NewScript(`
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
return 1
`)

// promoteDelayedScript moves due members of the delayed set into the stream,
// each in the same step as its removal; coalescing applies. A member is a
// JSON array: key, a tag, then the entry's fields and values; the tag of a
// Stagger member starts with staggerTag (a retry's is a stream id).
// KEYS: delayed, stream, waiting. ARGV: now ms, limit. Returns {added,
// coalesced, then for each Stagger member: its reason, 1 added or 0
// coalesced}: a retry was counted when first offered, a staggered entry is
// offered now.
var promoteDelayedScript = redis.NewScript(coalesced + `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {0, 0}
for _, m in ipairs(due) do
  local t = cjson.decode(m)
  local a = 0
  if waiting(KEYS[2], KEYS[3], t[1]) then
    out[2] = out[2] + 1
  else
    local id = redis.call('XADD', KEYS[2], '*', unpack(t, 3))
    redis.call('HSET', KEYS[3], t[1], id)
    out[1] = out[1] + 1
    a = 1
  end
  if string.sub(t[2], 1, #'` + staggerTag + `') == '` + staggerTag + `' then
    local reason = ''
    for i = 3, #t - 1, 2 do
      if t[i] == 'reason' then reason = t[i + 1] end
    end
    table.insert(out, reason)
    table.insert(out, a)
  end
  redis.call('ZREM', KEYS[1], m)
end
return out
`)

// staggerTag begins the tag of every member Stagger writes.
const staggerTag = "stagger:"

// promoteWakeupsScript turns due wake-ups (members are patient keys) into
// entries with reason "wake-up"; coalescing applies.
// KEYS: wake-ups, stream, waiting. ARGV: now ms, limit, enqueued. Returns
// {added, coalesced}.
var promoteWakeupsScript = redis.NewScript(coalesced + `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local added, merged = 0, 0
for _, p in ipairs(due) do
  if waiting(KEYS[2], KEYS[3], p) then
    merged = merged + 1
  else
    local id = redis.call('XADD', KEYS[2], '*', 'patient', p, 'reason', 'wake-up', 'attempt', '0', 'enqueued', ARGV[3])
    redis.call('HSET', KEYS[3], p, id)
    added = added + 1
  end
  redis.call('ZREM', KEYS[1], p)
end
return {added, merged}
`)

// replayScript moves a dead letter back into the stream; coalescing applies.
// KEYS: dead, stream, waiting. ARGV: dead-letter id, key, field, value, ...
// Returns -1 when the dead letter is gone, 1 when queued, 0 when coalesced.
var replayScript = redis.NewScript(coalesced + `
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
if waiting(KEYS[2], KEYS[3], ARGV[2]) then return 0 end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
redis.call('HSET', KEYS[3], ARGV[2], id)
return 1
`)

// advanceScript sets a hash field only forward. Values are fixed-width UTC
// timestamps, so string order is time order.
// KEYS: hash. ARGV: field, value. Returns 1 when it moved.
var advanceScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cur >= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// observeScript records a subscription's event numbers (ascending). The
// state hash keeps the highest number seen; the holes set keeps numbers
// skipped, scored by number, as "number:first-seen-ms", within a window
// below the highest. The numbers below the first one seen of a subscription
// (at most the early window) are early holes, "number:e<first-seen-ms>": a
// number that fills one is a late first event, not a reset. Returns 1 when
// a catch-up is due now: a reset (a number ≤ 1 after a higher one that fills
// no hole, or one below the window: the server restarted its count) or a
// jump wider than the window.
// KEYS: state, holes, subscriptions. ARGV: now ms, window, ttl ms,
// subscription, early window, numbers...
var observeScript = redis.NewScript(`
local window = tonumber(ARGV[2])
local early = tonumber(ARGV[5])
local m = redis.call('HGET', KEYS[1], 'max')
local max = nil
if m then max = tonumber(m) end
local catchup = 0
for i = 6, #ARGV do
  local n = tonumber(ARGV[i])
  if max == nil then
    local lo = n - early
    if lo < 1 then lo = 1 end
    for k = lo, n - 1 do
      redis.call('ZADD', KEYS[2], k, string.format('%d:e%s', k, ARGV[1]))
    end
    max = n
  elseif n > max then
    if n - max - 1 > window then
      catchup = 1
      redis.call('DEL', KEYS[2])
    else
      for k = max + 1, n - 1 do
        redis.call('ZADD', KEYS[2], k, string.format('%d:%s', k, ARGV[1]))
      end
    end
    max = n
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('(%d', max - window))
  elseif n == max then
    -- a duplicate
  else
    local hs = redis.call('ZRANGEBYSCORE', KEYS[2], n, n)
    if #hs > 0 then
      redis.call('ZREM', KEYS[2], unpack(hs))
    elseif n <= 1 or n < max - window then
      catchup = 1
      max = n
      redis.call('DEL', KEYS[2])
    end
  end
end
redis.call('HSET', KEYS[1], 'max', string.format('%d', max))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return catchup
`)

// gapsScript removes holes first seen at or before the cutoff and says
// whether there were any but early ones; it forgets a subscription whose
// state expired.
// KEYS: holes, state, subscriptions. ARGV: cutoff ms, subscription.
var gapsScript = redis.NewScript(`
local found = 0
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local e, seen = string.match(h, ':(e?)(%d+)$')
  seen = tonumber(seen)
  if seen and seen <= tonumber(ARGV[1]) then
    redis.call('ZREM', KEYS[1], h)
    if e == '' then found = 1 end
  end
end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return found
`)
