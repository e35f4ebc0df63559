-- fluxguard fleet store: every write the store makes is one EVALSHA of this
-- script, so each update costs Redis one script call and the client at most
-- one round trip (many calls share a pipeline). ARGV[1] names the operation.
-- Key names are built by the client (store/key_layout.cpp) and always passed
-- in KEYS; domain names arrive as raw bytes in ARGV and are only ever used as
-- members, hash values or message bytes, never to build a key here.
-- Needs Redis 6.2+ (ZADD GT).

-- Lua 5.1's unpack() is limited by the C stack; stay well below it.
local CHUNK = 200

-- GeoLite2's continent codes -> their place in merge's HMGET of 'c:<code>'
-- fields (the same order; listed there literally, no table built per call).
local CONTINENTS = {AF = 1, AN = 2, AS = 3, EU = 4, NA = 5, OC = 6, SA = 7}

-- ZADD GT: a member's score is its last-seen time and must never go back
-- when an instance's update arrives late (queued during an outage).
local function touch(key, time, members, first, last)
  local i = first
  while i <= last do
    local args = {}
    local stop = math.min(last, i + CHUNK - 1)
    for j = i, stop do
      args[#args + 1] = time
      args[#args + 1] = members[j]
    end
    redis.call('ZADD', key, 'GT', unpack(args))
    i = stop + 1
  end
end

-- Copies member -> score pairs (a ZRANGE WITHSCORES reply) into a pool.
local function copy_scores(pool, pairs)
  local i = 1
  while i <= #pairs do
    local args = {}
    local stop = math.min(#pairs, i + 2 * CHUNK - 1)
    for j = i, stop, 2 do
      args[#args + 1] = pairs[j + 1]
      args[#args + 1] = pairs[j]
    end
    redis.call('ZADD', pool, 'GT', unpack(args))
    i = stop + 1
  end
end

local op = ARGV[1]

if op == 'merge' then
  -- KEYS: addr pfx asn cc ns meta (one domain, one hash tag)
  -- ARGV: 'merge' time min_ttl entry_ttl max_members
  --       then for addr, pfx, asn, cc, ns, continents in turn: a count n
  --       and n members
  -- Returns: resolutions, addr, pfx, asn, cc, ns counts, min_ttl,
  --          first_seen, continents count
  -- Continents (seven codes at most) live in meta as fields 'c:<code>' ->
  -- last seen, not in a key of their own: no extra key or call per update.
  -- Redis spends most of an update's cost in the redis.call()s below, so
  -- there are as few as the semantics allow.
  local time = tonumber(ARGV[2])
  local min_ttl = tonumber(ARGV[3])
  local ttl = tonumber(ARGV[4])
  local max_members = tonumber(ARGV[5])
  -- Check the whole layout before the first write: a script error does not
  -- roll back what already ran.
  local at = 6
  for k = 1, 6 do
    local n = tonumber(ARGV[at])
    if not n or n < 0 then at = nil break end
    at = at + n + 1
  end
  if #KEYS ~= 6 or not (time and min_ttl and ttl and max_members) or at ~= #ARGV + 1 then
    return redis.error_reply('ERR fluxguard merge: malformed arguments')
  end

  local meta = KEYS[6]
  local old = redis.call('HMGET', meta, 'first_seen', 'last_seen', 'min_ttl', 'resolutions',
                         'c:AF', 'c:AN', 'c:AS', 'c:EU', 'c:NA', 'c:OC', 'c:SA')
  local first_seen = time
  if old[1] then first_seen = math.min(tonumber(old[1]), time) end
  local last_seen = time
  if old[2] then last_seen = math.max(tonumber(old[2]), time) end
  if old[3] then min_ttl = math.min(tonumber(old[3]), min_ttl) end
  local resolutions = 1 + (tonumber(old[4]) or 0)
  -- Every member was last seen at or after first_seen, so none can have
  -- left the window while the domain itself is younger than it.
  local cutoff = time - ttl
  local trim = cutoff > first_seen
  local oldest = '(' .. string.format('%d', cutoff)

  local counts = {}
  at = 6
  for k = 1, 5 do
    local key = KEYS[k]
    local n = tonumber(ARGV[at])
    touch(key, time, ARGV, at + 1, at + n)
    at = at + n + 1
    -- The sliding window: a member counts for entry_ttl after last seen.
    if trim then redis.call('ZREMRANGEBYSCORE', key, '-inf', oldest) end
    local count = redis.call('ZCARD', key)
    if count > max_members then
      -- Oldest first: rank 0 has the lowest last-seen time.
      redis.call('ZREMRANGEBYRANK', key, 0, count - max_members - 1)
      count = max_members
    end
    if count > 0 then redis.call('EXPIRE', key, ttl) end
    counts[k] = count
  end

  -- The continents group follows the five above; codes outside the seven
  -- are ignored, so the hash stays bounded whatever a client sends.
  local fields = {'first_seen', string.format('%d', first_seen),
                  'last_seen', string.format('%d', last_seen),
                  'min_ttl', string.format('%d', min_ttl),
                  'resolutions', string.format('%d', resolutions)}
  for j = at + 1, at + tonumber(ARGV[at]) do
    local i = CONTINENTS[ARGV[j]]
    -- Like ZADD GT: a late update never moves a last-seen time back.
    if i and (tonumber(old[4 + i]) or 0) < time then
      old[4 + i] = time
      fields[#fields + 1] = 'c:' .. ARGV[j]
      fields[#fields + 1] = string.format('%d', time)
    end
  end
  -- The same sliding window as the sets above.
  local continents = 0
  for i = 5, 11 do
    if (tonumber(old[i]) or cutoff - 1) >= cutoff then continents = continents + 1 end
  end
  redis.call('HSET', meta, unpack(fields))
  redis.call('EXPIRE', meta, ttl)
  return {resolutions, counts[1], counts[2], counts[3], counts[4], counts[5],
          min_ttl, first_seen, continents}

elseif op == 'block' then
  -- KEYS: blocked, block:{d}, pool:addr, pool:ns, {d}:addr, {d}:ns
  -- ARGV: 'block' domain since score source reason evidence
  --       channel message now window
  -- The global keys make this call cross-slot: fine on a single master (and
  -- with Sentinel); see store/README.md for Redis Cluster.
  local domain, since = ARGV[2], ARGV[3]
  redis.call('ZADD', KEYS[1], since, domain)
  redis.call('HSET', KEYS[2], 'domain', domain, 'score', ARGV[4], 'since', since,
             'source', ARGV[5], 'reason', ARGV[6], 'evidence', ARGV[7])
  -- Pools: each address / name server of the blocked domain, scored by the
  -- time it was last seen serving it, aged out after the same window.
  local now = tonumber(ARGV[10])
  local oldest = '(' .. string.format('%d', now - tonumber(ARGV[11]))
  copy_scores(KEYS[3], redis.call('ZRANGE', KEYS[5], 0, -1, 'WITHSCORES'))
  copy_scores(KEYS[4], redis.call('ZRANGE', KEYS[6], 0, -1, 'WITHSCORES'))
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', oldest)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', oldest)
  redis.call('PUBLISH', ARGV[8], ARGV[9])
  return 1

elseif op == 'client' then
  -- KEYS: host:{ip}, host:{ip}:domains, host:{ip}:ports, hosts
  -- ARGV: 'client' time name port_label max_members ttl client
  -- The per-host view, written by the resolvers (port label 'dns') and by
  -- the sinkhole alike (sinkhole/README.md): first/last seen only move
  -- outwards whatever order updates arrive in, count adds up over every
  -- writer, the sets stop at the cap (a client choosing Host headers at
  -- random must not grow Redis without bound), and the keys expire ttl
  -- seconds after the last hit (ttl 0: never). An empty name or port label
  -- adds nothing to its set. The hosts index is trimmed by the sinkhole.
  local now = tonumber(ARGV[2])
  local old = redis.call('HMGET', KEYS[1], 'first_seen', 'last_seen')
  local first, last = now, now
  local f, l = tonumber(old[1]), tonumber(old[2])
  if f and f < first then first = f end
  if l and l > last then last = l end
  redis.call('HSET', KEYS[1], 'first_seen', string.format('%d', first),
             'last_seen', string.format('%d', last))
  redis.call('HINCRBY', KEYS[1], 'count', 1)
  local cap = tonumber(ARGV[5])
  if ARGV[3] ~= '' and redis.call('SCARD', KEYS[2]) < cap then
    redis.call('SADD', KEYS[2], ARGV[3])
  end
  if ARGV[4] ~= '' and redis.call('SCARD', KEYS[3]) < cap then
    redis.call('SADD', KEYS[3], ARGV[4])
  end
  local ttl = tonumber(ARGV[6])
  if ttl > 0 then
    for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ttl) end
  end
  redis.call('ZADD', KEYS[4], 'GT', ARGV[2], ARGV[7])
  return 1

elseif op == 'heartbeat' then
  -- KEYS: instances, instance:{id}
  -- ARGV: 'heartbeat' id now history ttl, then field/value pairs of the hash
  -- The registry of resolver instances that fluxctl status lists. The hash
  -- expires unless refreshed, so an instance that dies drops out by itself;
  -- the set keeps `history` seconds of instances and is trimmed here. The
  -- two keys make this call cross-slot, like 'block'.
  local now, history, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  if #KEYS ~= 2 or not (now and history and ttl) or #ARGV < 7 or #ARGV % 2 ~= 1 then
    return redis.error_reply('ERR fluxguard heartbeat: malformed arguments')
  end
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%d', now - history))
  redis.call('HSET', KEYS[2], 'last_seen', ARGV[3], unpack(ARGV, 6))
  redis.call('EXPIRE', KEYS[2], ttl)
  return 1

elseif op == 'leave' then
  -- KEYS: instances, instance:{id}   ARGV: 'leave' id
  -- A clean shutdown: out of the registry at once rather than at expiry.
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('DEL', KEYS[2])
  return 1

elseif op == 'unblock' then
  -- KEYS: blocked, block:{d}   ARGV: 'unblock' domain channel message
  local removed = redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('DEL', KEYS[2])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return removed
end

return redis.error_reply('ERR fluxguard script: unknown operation')
