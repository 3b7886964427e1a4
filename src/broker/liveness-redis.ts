import type { RedisKeys } from './redis-keys.ts';
import { CLAIM_DEAD, HEARTBEAT, type CommandRunner } from './redis-scripts.ts';
import type { BrokerTimers } from './timers.ts';

export interface NodeLivenessOptions {
  client: CommandRunner;
  keys: RedisKeys;
  nodeId: string;
  heartbeatMs: number;
  nodeTimeoutMs: number;
  timers: BrokerTimers;
  onNodeDown(node: string): void;
  /** A dead node's leftovers are this node's to remove (it won the claim). */
  onClaimed(node: string): Promise<void>;
  /** This node's heartbeat was missing although it had been written: the others declared it dead. */
  onEvicted(): void;
  /** A heartbeat went unanswered for `nodeTimeoutMs`: the command connection is dead without knowing it. */
  onStalled(): void;
  onError(error: Error): void;
}

/**
 * Node liveness through one sorted set: every `heartbeatMs` each node writes its id with Redis's clock and
 * reads everyone's. A node not heard from for `nodeTimeoutMs` is dead: every node that knew it emits
 * `nodeDown`, and exactly one (the one whose atomic claim removes it from the set) cleans up after it.
 */
export class NodeLiveness {
  readonly #o: NodeLivenessOptions;
  /** Nodes this node has seen alive (or received presence from) and not yet declared dead. */
  readonly #known = new Set<string>();
  /** Nodes declared dead -> the beat that declared them; kept until they are gone from the set. */
  readonly #dead = new Map<string, number>();
  #timer: unknown = null;
  #ticking: Promise<void> | null = null;
  #beats = 0;
  /** Redis time of the last heartbeat that got through, and of the first one after this node was cut off. */
  #lastNow: number | null = null;
  #resumedAt = -Infinity;
  /** A heartbeat failed since the last one that got through. */
  #cutOff = false;

  constructor(options: NodeLivenessOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    await this.tick();
    this.#timer = this.#o.timers.setInterval(() => {
      if (!this.#ticking) this.tick().catch((error: Error) => this.#o.onError(error));
    }, this.#o.heartbeatMs);
  }

  /** Stops heartbeating (a crash looks exactly like this to the other nodes). */
  stop(): void {
    if (this.#timer !== null) this.#o.timers.clearInterval(this.#timer);
    this.#timer = null;
  }

  async leave(): Promise<void> {
    this.stop();
    await this.#ticking;
    await this.#o.client.sendCommand(['ZREM', this.#o.keys.nodes(), this.#o.nodeId]);
  }

  noteAlive(node: string): void {
    if (node === this.#o.nodeId) return;
    this.#known.add(node);
    this.#dead.delete(node);
  }

  isDead(node: string): boolean {
    return this.#dead.has(node);
  }

  tick(): Promise<void> {
    const { timers, nodeTimeoutMs } = this.#o;
    const stall = timers.setTimeout(() => this.#o.onStalled(), nodeTimeoutMs);
    this.#ticking = this.#beat().catch((error: unknown) => {
      this.#cutOff = true;
      throw error;
    }).finally(() => {
      timers.clearTimeout(stall);
      this.#ticking = null;
    });
    return this.#ticking;
  }

  async #beat(): Promise<void> {
    const { client, keys, nodeId, nodeTimeoutMs } = this.#o;
    const reply = await HEARTBEAT.run<(string | number)[]>(client, [keys.nodes()], [nodeId]);
    const now = Number(reply[0]);
    if (Number(reply[1]) === 1 && this.#beats > 0) this.#o.onEvicted();
    this.#beats++;
    // After this node could not reach the set (its Redis, or its cluster shard, failing over; or this process
    // paused longer than the timeout) everyone else's heartbeats were likely blocked too: give them a full
    // timeout to write again before judging anyone, instead of declaring the whole cluster dead.
    if (this.#cutOff || (this.#lastNow !== null && now - this.#lastNow > nodeTimeoutMs)) this.#resumedAt = now;
    this.#cutOff = false;
    this.#lastNow = now;
    const judging = now - this.#resumedAt >= nodeTimeoutMs;
    const cutoff = now - nodeTimeoutMs;
    const listed = new Set<string>();
    for (let i = 2; i + 1 < reply.length; i += 2) {
      const node = String(reply[i]);
      if (node === nodeId) continue;
      listed.add(node);
      if (Number(reply[i + 1]) > cutoff) {
        this.noteAlive(node);
        continue;
      }
      if (!judging) continue;
      this.#declareDead(node);
      const won = await CLAIM_DEAD.run<number>(client, [keys.nodes()], [node, String(cutoff)]);
      if (Number(won) === 1) await this.#o.onClaimed(node);
    }
    // Gone from the set: closed cleanly, or another node claimed it before this one noticed.
    if (judging) for (const node of this.#known) if (!listed.has(node)) this.#declareDead(node);
    // A beat after it left the set its leftovers are purged; forgetting it keeps this map small.
    for (const [node, beat] of this.#dead) if (!listed.has(node) && this.#beats - beat >= 2) this.#dead.delete(node);
  }

  #declareDead(node: string): void {
    if (!this.#dead.has(node)) this.#dead.set(node, this.#beats);
    if (this.#known.delete(node)) this.#o.onNodeDown(node);
  }
}
