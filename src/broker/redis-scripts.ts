/**
 * The Lua scripts of the Redis broker. Each runs atomically inside Redis, and every key a script touches
 * carries the topic as its hash tag (`{topic}`), so one script only ever touches one cluster slot.
 */
import { createHash } from 'node:crypto';
import type { RedisArgument } from 'redis';

/** What a script needs from a client; node-redis clients satisfy it. */
export interface CommandRunner {
  sendCommand<T>(args: ReadonlyArray<RedisArgument>, options?: { typeMapping?: Record<number, unknown> }): Promise<T>;
}

/** Runs by SHA and falls back to sending the source once when Redis does not know it yet (or restarted). */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run<T>(client: CommandRunner, keys: RedisArgument[], args: RedisArgument[], options?: { typeMapping?: Record<number, unknown> }): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await client.sendCommand<T>(['EVALSHA', this.sha, ...tail], options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.sendCommand<T>(['EVAL', this.source, ...tail], options);
    }
  }
}

const NETSTRING = `local function ns(s) return #s .. ':' .. s end`;

/**
 * Appends to a topic's history and publishes in one step. KEYS: meta hash, stream. ARGV: channel ('' = do
 * not publish), candidate epoch, maxMessages (0 = none), ttlMs (0 = none), idle expiry ms, envelope head,
 * event, payload bytes, publish command (PUBLISH or SPUBLISH), keep ('1' stores the payload; '0' stores a
 * marker in its place: the message is published but too big to keep, and RANGE answers gap_too_large for any
 * gap that includes it). Returns { epoch, offset }.
 *
 * Offset assignment and publication must be one step: were INCR and PUBLISH separate commands, node A could
 * take offset 5 and node B offset 6 yet B's PUBLISH reach Redis first, and every subscriber would see 6
 * before 5 (a client would record 6, then treat 5 as stale, or report a gap that is not one). A script runs
 * to completion before any other command, so stream order, offset order and delivery order are one order.
 */
export const APPEND_AND_PUBLISH = new LuaScript(`${NETSTRING}
local meta, stream = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'epoch')
if (not epoch) or (redis.call('EXISTS', stream) == 0 and tonumber(redis.call('HGET', meta, 'offset')) > 0) then
  epoch = ARGV[2]
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', epoch, 'offset', 0)
end
local offset = redis.call('HINCRBY', meta, 'offset', 1)
local max, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('HSET', meta, 'max', max, 'ttl', ttl)
local entry = { 'o', offset, 'e', ARGV[7], 'p', ARGV[8] }
if ARGV[10] == '0' then entry = { 'o', offset, 'e', '', 'p', '', 'x', '1' } end
if max > 0 then
  redis.call('XADD', stream, 'MAXLEN', '~', max, '*', unpack(entry))
else
  redis.call('XADD', stream, '*', unpack(entry))
end
if ttl > 0 then
  local t = redis.call('TIME')
  redis.call('XTRIM', stream, 'MINID', '~', (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) - ttl)
end
redis.call('PEXPIRE', meta, ARGV[5])
redis.call('PEXPIRE', stream, ARGV[5])
if ARGV[1] ~= '' then
  redis.call(ARGV[9], ARGV[1], ARGV[6] .. ns(epoch) .. ns(tostring(offset)) .. ARGV[8])
end
return { epoch, offset }
`);

/**
 * The gap after a position, all or nothing. KEYS: meta hash, stream. ARGV: since epoch, since offset,
 * candidate epoch, idle expiry ms. Returns { epoch, offset, status, o1, e1, p1, o2, ... } with status `ok`,
 * `epoch_changed` or `gap_too_large` (also when the gap holds the marker of a message too big to keep); a stream that vanished (evicted, flushed) starts a new epoch here as it
 * would on the next append. Trimming is approximate (cheap); the retention limits recorded at the
 * last append are applied exactly here, so recovery means the same thing on every store.
 */
export const RANGE = new LuaScript(`
local meta, stream = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'epoch', 'offset', 'max', 'ttl')
if not m[1] then
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', ARGV[3], 'offset', 0)
  redis.call('PEXPIRE', meta, ARGV[4])
  return { ARGV[3], 0, 'epoch_changed' }
end
local epoch, last = m[1], tonumber(m[2])
if last > 0 and redis.call('EXISTS', stream) == 0 then
  redis.call('HSET', meta, 'epoch', ARGV[3], 'offset', 0)
  return { ARGV[3], 0, 'epoch_changed' }
end
local since = tonumber(ARGV[2])
if epoch ~= ARGV[1] or since == nil or since < 0 or since > last then return { epoch, last, 'epoch_changed' } end
local n = last - since
if n == 0 then return { epoch, last, 'ok' } end
local max, ttl = tonumber(m[3]) or 0, tonumber(m[4]) or 0
if max > 0 and n > max then return { epoch, last, 'gap_too_large' } end
local entries = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', n)
if #entries < n or tonumber(entries[n][2][2]) ~= since + 1 then return { epoch, last, 'gap_too_large' } end
if ttl > 0 then
  local t = redis.call('TIME')
  local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ttl
  local ms = tonumber(string.match(entries[n][1], '^(%d+)'))
  if ms <= cutoff then return { epoch, last, 'gap_too_large' } end
end
local out = { epoch, last, 'ok' }
for i = n, 1, -1 do
  local f = entries[i][2]
  if #f > 6 then return { epoch, last, 'gap_too_large' } end
  out[#out + 1] = f[2]
  out[#out + 1] = f[4]
  out[#out + 1] = f[6]
end
return out
`);

/** The latest position, creating the epoch if the topic has none. KEYS: meta. ARGV: candidate epoch, idle ms. */
export const POSITION = new LuaScript(`
local m = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
if m[1] then return { m[1], tonumber(m[2]) } end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'offset', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return { ARGV[1], 0 }
`);

/**
 * Records a presence change in the topic's presence hash and publishes it in one step, so the hash a
 * starting node reads and the stream of changes it then receives never disagree. KEYS: presence hash.
 * ARGV: field, meta JSON ('' = leave), channel, envelope, publish command.
 */
export const PRESENCE = new LuaScript(`
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call(ARGV[5], ARGV[3], ARGV[4])
return 1
`);

/**
 * Refreshes this node's heartbeat with Redis's own clock (no skew between nodes) and returns
 * { now ms, 1 if this node was missing (first start, declared dead, or Redis lost its data), node, score, ... }.
 * KEYS: nodes sorted set. ARGV: node id.
 */
export const HEARTBEAT = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
local out = { now, added }
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all do out[#out + 1] = all[i] end
return out
`);

/** Removes a node whose heartbeat is older than the cutoff; 1 means this caller won the claim and cleans up. */
export const CLAIM_DEAD = new LuaScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
`);

/** Deletes every field of a presence hash that belongs to one node (fields start with `node\\n`). */
export const PURGE_NODE = new LuaScript(`
local prefix = ARGV[1]
local n = #prefix
local fields = redis.call('HKEYS', KEYS[1])
local removed = 0
for i = 1, #fields do
  if string.sub(fields[i], 1, n) == prefix then
    redis.call('HDEL', KEYS[1], fields[i])
    removed = removed + 1
  end
end
return removed
`);
