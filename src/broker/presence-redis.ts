import { RESP_TYPES } from 'redis';
import { encodePresence } from './envelope.ts';
import { parsePresenceField, presenceField, type RedisKeys } from './redis-keys.ts';
import { PRESENCE, PURGE_NODE, type CommandRunner } from './redis-scripts.ts';
import type { PresenceChange } from './types.ts';

type Entries = Map<string, PresenceChange>;

/** HGETALL as `[field, value, …]` whatever the protocol version (client-chosen fields never become object keys). */
const FLAT_MAP = { typeMapping: { [RESP_TYPES.MAP]: Array } };

export interface PresenceReplicaOptions {
  client: CommandRunner;
  keys: RedisKeys;
  nodeId: string;
  publishCommand: () => string;
  isWanted(topic: string): boolean;
  isDead(node: string): boolean;
  emit(change: PresenceChange): void;
}

/**
 * Presence across nodes. Every change is written to the topic's presence hash and published in one script.
 * A node that subscribes to a topic (at start, or again after a reconnect) reads the hash and emits the
 * difference from what it has already emitted, so a newcomer learns the cluster's presence and a node that
 * was cut off catches up on joins and leaves it missed. Changes that arrive while that read is in flight are
 * held and applied after it; the emitted view makes duplicates (a join seen in both) disappear.
 */
export class PresenceReplica {
  readonly #o: PresenceReplicaOptions;
  /** This node's live presences, to announce again if the others declared this node dead. */
  readonly #own = new Map<string, Entries>();
  /** What has been emitted per subscribed topic, by field. */
  readonly #view = new Map<string, Entries>();
  readonly #synced = new Set<string>();
  readonly #held = new Map<string, PresenceChange[]>();

  constructor(options: PresenceReplicaOptions) {
    this.#o = options;
  }

  async publish(change: PresenceChange): Promise<void> {
    const field = presenceField(change.node, change.meta.phx_ref, change.key);
    let own = this.#own.get(change.topic);
    if (change.kind === 'join') {
      if (!own) this.#own.set(change.topic, (own = new Map()));
      own.set(field, change);
    } else if (own) {
      own.delete(field);
      if (own.size === 0) this.#own.delete(change.topic);
    }
    await this.#write(change, field);
  }

  #write(change: PresenceChange, field: string): Promise<unknown> {
    const { client, keys } = this.#o;
    const writes: Promise<unknown>[] = [];
    if (change.kind === 'join') writes.push(client.sendCommand(['SADD', keys.nodeTopics(change.node), change.topic]));
    writes.push(
      PRESENCE.run(client, [keys.presence(change.topic)], [
        field,
        change.kind === 'join' ? JSON.stringify(change.meta) : '',
        keys.channel(change.topic),
        encodePresence(change),
        this.#o.publishCommand(),
      ]),
    );
    return Promise.all(writes);
  }

  /** Announces every presence of this node again (after the cluster declared it dead, or Redis lost data). */
  async republishOwn(): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const entries of this.#own.values()) for (const [field, change] of entries) writes.push(this.#write(change, field));
    await Promise.all(writes);
  }

  /** A change from the channel. */
  receive(change: PresenceChange): void {
    if (!this.#o.isWanted(change.topic)) return;
    if (this.#synced.has(change.topic)) {
      this.#apply(change);
      return;
    }
    const held = this.#held.get(change.topic);
    if (held) held.push(change);
    else this.#held.set(change.topic, [change]);
  }

  /** Reads the presence hashes of freshly subscribed topics and emits what this node has not seen. */
  async sync(topics: string[]): Promise<void> {
    const { client, keys } = this.#o;
    // One HGETALL per topic: on a cluster each goes to its own topic's shard.
    const hashes = await Promise.all(topics.map((t) => client.sendCommand<string[]>(['HGETALL', keys.presence(t)], FLAT_MAP)));
    for (let i = 0; i < topics.length; i++) {
      const topic = topics[i];
      if (!this.#o.isWanted(topic)) continue;
      const seen = this.#view.get(topic);
      const current = new Map<string, { node: string; key: string; meta: string }>();
      const flat = hashes[i];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        const field = String(flat[j]);
        const meta = String(flat[j + 1]);
        const f = parsePresenceField(field);
        if (f && !this.#o.isDead(f.node)) current.set(field, { node: f.node, key: f.key, meta });
      }
      if (seen) {
        for (const [field, change] of seen) if (!current.has(field)) this.#apply({ ...change, kind: 'leave' });
      }
      for (const [field, e] of current) {
        if (seen?.has(field)) continue;
        this.#apply({ topic, key: e.key, node: e.node, kind: 'join', meta: JSON.parse(e.meta) as PresenceChange['meta'] });
      }
      this.#synced.add(topic);
      const held = this.#held.get(topic);
      this.#held.delete(topic);
      if (held) for (const change of held) this.#apply(change);
    }
  }

  /** The channel connection carrying these topics dropped: hold their changes until their next sync. */
  desync(topics: Iterable<string>): void {
    for (const t of topics) this.#synced.delete(t);
  }

  forget(topics: string[]): void {
    for (const t of topics) {
      this.#view.delete(t);
      this.#synced.delete(t);
      this.#held.delete(t);
    }
  }

  /** Drops a dead node's entries from the view; the server announces the leaves itself on `nodeDown`. */
  forgetNode(node: string): void {
    for (const entries of this.#view.values()) {
      for (const [field, change] of entries) if (change.node === node) entries.delete(field);
    }
  }

  /** Removes a node's presences from Redis (a dead node's, by whichever node claimed it, or our own on close). */
  async purge(node: string): Promise<void> {
    const { client, keys } = this.#o;
    const topics = await client.sendCommand<string[]>(['SMEMBERS', keys.nodeTopics(node)]);
    await Promise.all(topics.map((t) => PURGE_NODE.run(client, [keys.presence(String(t))], [`${node}\n`])));
    await client.sendCommand(['DEL', keys.nodeTopics(node)]);
    if (node === this.#o.nodeId) this.#own.clear();
  }

  #apply(change: PresenceChange): void {
    const field = presenceField(change.node, change.meta.phx_ref, change.key);
    let entries = this.#view.get(change.topic);
    if (change.kind === 'join') {
      if (entries?.has(field)) return;
      if (!entries) this.#view.set(change.topic, (entries = new Map()));
      entries.set(field, change);
    } else {
      if (!entries?.delete(field)) return;
    }
    this.#o.emit(change);
  }
}
