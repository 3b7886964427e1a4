/**
 * Where the Redis broker keeps things. Every per-topic key and channel wraps the topic in `{…}`, Redis
 * Cluster's hash tag, so a topic's history, presence and channel share one slot (and one shard for sharded
 * pub/sub) and a Lua script over them is valid on a cluster.
 */
export class RedisKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    if (/[{}]/.test(prefix)) throw new TypeError(`keyPrefix must not contain "{" or "}" (it would change the hash tag): ${prefix}`);
    this.prefix = prefix;
  }

  /** Pub/sub channel carrying a topic's messages and presence changes. */
  channel(topic: string): string {
    return `${this.prefix}m:{${topic}}`;
  }
  /** The topic of a channel name made by `channel`, or null for any other name. */
  topicOfChannel(channel: string): string | null {
    const head = `${this.prefix}m:{`;
    return channel.startsWith(head) && channel.endsWith('}') ? channel.slice(head.length, -1) : null;
  }
  /** Pub/sub channel of a node's inbox (only that node subscribes to it). */
  inbox(node: string): string {
    return `${this.prefix}in:{${node}}`;
  }
  /** Hash: `epoch`, `offset` (last assigned), `max`, `ttl` (the retention of the last append). */
  historyMeta(topic: string): string {
    return `${this.prefix}hm:{${topic}}`;
  }
  /** Stream of entries `o` (offset), `e` (event), `p` (payload kind byte + bytes). */
  historyStream(topic: string): string {
    return `${this.prefix}hs:{${topic}}`;
  }
  /** Hash: `node\nphx_ref\nkey` -> meta JSON, one field per tracked presence. */
  presence(topic: string): string {
    return `${this.prefix}pr:{${topic}}`;
  }
  /** String: `r` while a push with outbox id `id` from client `scope` runs, then its outcome (`d` + JSON). */
  dedup(scope: string, id: string): string {
    // The scope's length comes first so no (scope, id) pair can spell another's key: both are client-chosen.
    return `${this.prefix}dd:${scope.length}:{${scope}}${id}`;
  }
  /** Sorted set: node id -> last heartbeat (Redis server time, ms). */
  nodes(): string {
    return `${this.prefix}nodes`;
  }
  /** Set: the topics where a node has tracked presences, for cleanup after it dies. */
  nodeTopics(node: string): string {
    return `${this.prefix}nt:${node}`;
  }
}

export function presenceField(node: string, ref: string, key: string): string {
  return `${node}\n${ref}\n${key}`;
}

export function parsePresenceField(field: string): { node: string; ref: string; key: string } | null {
  const a = field.indexOf('\n');
  const b = a < 0 ? -1 : field.indexOf('\n', a + 1);
  if (b < 0) return null;
  return { node: field.slice(0, a), ref: field.slice(a + 1, b), key: field.slice(b + 1) };
}
