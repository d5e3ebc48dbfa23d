"""The Lua scripts of ``merge.redis``, one per step (see the layout in its docstring).

Every script takes ``KEYS = (meta, snap, log)`` of one object, so each touches one slot.
"""

from __future__ import annotations

_LUA_COMMON = """
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  if not ms then return nil end
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function deadline_of(meta)
  return tonumber(redis.call('HGET', meta, 'deadline') or '0') or 0
end
-- raise the deadline of a life that has one to now + ttl (a join: it never goes down),
-- store it, and set it on every key of the object that exists: all of them expire at once
local function extend(deadline, now, ttl)
  if deadline > 0 and ttl ~= '' then
    deadline = math.max(deadline, now + tonumber(ttl))
  end
  if deadline > 0 then
    redis.call('HSET', KEYS[1], 'deadline', string.format('%.0f', deadline))
    for i = 1, #KEYS do
      if redis.call('EXISTS', KEYS[i]) == 1 then
        redis.call('PEXPIREAT', KEYS[i], string.format('%.0f', deadline))
      end
    end
  end
  return deadline
end
"""

# Every script takes KEYS = (meta, snap, log) and ARGV[1] = the generation the caller holds
# ('' when it knows of no life). On a mismatch it replies {0, current generation or '', now}:
# the caller then decides between "expired" and "lost" (RedisHandle._life_changed).

# -> {current generation or '', type or '', deadline (0: none), now}
_LOOKUP = (
    _LUA_COMMON
    + """
local gen, kind = unpack(redis.call('HMGET', KEYS[1], 'gen', 'type'))
return {gen or '', kind or '', deadline_of(KEYS[1]), now_ms()}
"""
)

# ARGV: generation, writer, delta, proposed generation, type name, ttl ms or ''.
# -> {1, entry id, stream length, deadline, now, generation}
_APPEND = (
    _LUA_COMMON
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
local now = now_ms()
if (gen or '') ~= ARGV[1] then return {0, gen or '', now} end
local deadline = deadline_of(KEYS[1])
if not gen then
  -- the first write creates the life; its writer decides whether the life expires
  gen = ARGV[4]
  redis.call('HSET', KEYS[1], 'gen', gen, 'type', ARGV[5])
  if ARGV[6] ~= '' then deadline = now + tonumber(ARGV[6]) end
end
local id = redis.call('XADD', KEYS[3], '*', 'w', ARGV[2], 'd', ARGV[3])
deadline = extend(deadline, now, ARGV[6])
return {1, id, redis.call('XLEN', KEYS[3]), deadline, now, gen}
"""
)

# ARGV: generation, cursor, count.
# -> {1, last generated id, snapshot upto, snapshot state or '', entries, deadline, now}
#    {0, current generation or '', now} | {2, reason}: the snapshot key holds garbage
_PULL = (
    _LUA_COMMON
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
local now = now_ms()
if (gen or '') ~= ARGV[1] then return {0, gen or '', now} end
local last = '0-0'
if redis.call('EXISTS', KEYS[3]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[3])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
end
local upto = redis.call('HGET', KEYS[2], 'upto') or '0-0'
if not parse(upto) then return {2, 'snapshot upto is not a stream id'} end
local start = ARGV[2]
local state = ''
if less(start, upto) then
  state = redis.call('HGET', KEYS[2], 'state') or ''
  start = upto
end
local entries = redis.call('XRANGE', KEYS[3], '(' .. start, '+', 'COUNT', ARGV[3])
return {1, last, upto, state, entries, deadline_of(KEYS[1]), now}
"""
)

# ARGV: generation, upto, state, first id to keep. -> {1, trimmed}
_COMPACT = (
    _LUA_COMMON
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
local now = now_ms()
if (gen or '') ~= ARGV[1] or not gen then return {0, gen or '', now} end
local old = redis.call('HGET', KEYS[2], 'upto')
if old and parse(old) and not less(old, ARGV[2]) then return {1, 0} end
redis.call('HSET', KEYS[2], 'state', ARGV[3], 'upto', ARGV[2])
local trimmed = redis.call('XTRIM', KEYS[3], 'MINID', ARGV[4])
extend(deadline_of(KEYS[1]), now, '')  -- the new snapshot key expires with the rest
return {1, trimmed}
"""
)

# ARGV: generation, ttl ms. -> {1, deadline (0: none), now}
_TOUCH = (
    _LUA_COMMON
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
local now = now_ms()
if (gen or '') ~= ARGV[1] then return {0, gen or '', now} end
if not gen then return {1, 0, now} end
return {1, extend(deadline_of(KEYS[1]), now, ARGV[2]), now}
"""
)
