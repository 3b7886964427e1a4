import { RESP_TYPES, type RedisArgument } from 'redis';
import type { Payload } from '../protocol/frame.ts';
import { decodePayload, messageHead, payloadBytes } from './envelope.ts';
import { newEpoch } from './history-memory.ts';
import type { RedisKeys } from './redis-keys.ts';
import { APPEND_AND_PUBLISH, POSITION, RANGE, type CommandRunner } from './redis-scripts.ts';
import type { HistoryEntry, HistoryPolicy, HistoryStore, RecoveryResult, StreamPosition } from './types.ts';

const AS_BUFFERS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };

export interface RedisHistoryOptions {
  client: CommandRunner;
  keys: RedisKeys;
  /** History keys expire after this long without an append (at least the policy's ttlMs). */
  idleMs: number;
  /** Ceiling on stored messages per topic, over each policy's `maxMessages`. */
  maxMessages: number;
  /** A larger encoded payload is published but stored as a "not kept" marker (see APPEND_AND_PUBLISH). */
  maxMessageBytes: number;
  /** PUBLISH or SPUBLISH. */
  publishCommand: () => string;
}

/** What a history-enabled publish needs to put on the channel next to the appended entry. */
export interface PublishEnvelope {
  channel: string;
  origin: string;
  exclude: string | undefined;
}

/**
 * History in Redis Streams: one stream and one meta hash per topic. Appends go through one Lua script that
 * assigns the offset, XADDs (trimming by MAXLEN ~ and MINID ~) and, for broker publishes, PUBLISHes the
 * message with its position, atomically.
 */
export class RedisHistoryStore implements HistoryStore {
  readonly #o: RedisHistoryOptions;

  /** @internal */
  constructor(options: RedisHistoryOptions) {
    this.#o = options;
  }

  append(topic: string, event: string, payload: Payload, policy: HistoryPolicy): Promise<StreamPosition> {
    return this.appendAndPublish(topic, event, payloadBytes(payload), policy, null);
  }

  /** @internal */
  async appendAndPublish(
    topic: string,
    event: string,
    payload: Buffer,
    policy: HistoryPolicy,
    publish: PublishEnvelope | null,
  ): Promise<StreamPosition> {
    const keys = this.#o.keys;
    const ttl = policy.ttlMs ?? 0;
    // The stored form is `payload` minus its one-byte kind prefix.
    const keep = payload.byteLength - 1 <= this.#o.maxMessageBytes;
    const args: RedisArgument[] = [
      publish ? publish.channel : '',
      newEpoch(),
      String(Math.min(policy.maxMessages ?? Infinity, this.#o.maxMessages)),
      String(ttl),
      String(Math.max(this.#o.idleMs, ttl)),
      publish ? messageHead(topic, publish.origin, publish.exclude, event) : '',
      event,
      payload,
      this.#o.publishCommand(),
      keep ? '1' : '0',
    ];
    const [epoch, offset] = await APPEND_AND_PUBLISH.run<[string, number]>(
      this.#o.client,
      [keys.historyMeta(topic), keys.historyStream(topic)],
      args,
    );
    return { epoch, offset: Number(offset) };
  }

  async range(topic: string, since: StreamPosition): Promise<RecoveryResult> {
    const keys = this.#o.keys;
    const reply = await RANGE.run<(Buffer | number)[]>(
      this.#o.client,
      [keys.historyMeta(topic), keys.historyStream(topic)],
      [since.epoch, String(since.offset), newEpoch(), String(this.#o.idleMs)],
      AS_BUFFERS,
    );
    const position = { epoch: reply[0].toString(), offset: Number(reply[1].toString()) };
    const status = reply[2].toString();
    if (status === 'epoch_changed' || status === 'gap_too_large') return { recovered: false, reason: status, position };
    if (status !== 'ok') throw new Error(`history range of ${topic}: unexpected status ${status}`);
    const entries: HistoryEntry[] = [];
    for (let i = 3; i + 2 < reply.length; i += 3) {
      entries.push({ offset: Number(reply[i].toString()), event: reply[i + 1].toString(), payload: decodePayload(reply[i + 2] as Buffer, 0) });
    }
    return { recovered: true, entries, position };
  }

  async position(topic: string): Promise<StreamPosition> {
    const [epoch, offset] = await POSITION.run<[string, number]>(
      this.#o.client,
      [this.#o.keys.historyMeta(topic)],
      [newEpoch(), String(this.#o.idleMs)],
    );
    return { epoch, offset: Number(offset) };
  }
}
