/**
 * Per-socket state and the routing of every client frame: heartbeat, join, leave, and events for joined
 * channels, with Phoenix's exact answers for the unmatched, the stale and the duplicate.
 */
import { CloseCodes } from '../protocol/close-codes.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { Events, HEARTBEAT_TOPIC, ReplyReasons } from '../protocol/events.ts';
import { isJsonObject, type Frame, type JsonObject, type Payload } from '../protocol/frame.ts';
import { closeFrame, heartbeatReply, replyFrame, unmatchedTopicReply } from '../protocol/replies.ts';
import type { Serializer } from '../protocol/serializer.ts';
import type { HistoryStore } from '../broker/types.ts';
import type { BroadcastResult, Reply } from './channel.ts';
import type { BacklogLimits, ChannelHost } from './channel-host.ts';
import { ChannelInstance } from './channel-instance.ts';
import type { Clock } from './clock.ts';
import type { Fanout, Subscriber } from './fanout.ts';
import type { ObserverSet } from './observer.ts';
import type { TransportKind } from './options.ts';
import { CappedTransport } from './outbound-cap.ts';
import type { Presence } from './presence.ts';
import { RateVerdict, TokenBucket, type RateLimit } from './rate-limit.ts';
import type { PushDeduplicator } from './recovery/push-dedup.ts';
import type { Router } from './router.ts';
import type { SharedFrame, TransportSocket } from './transport.ts';
import { asError } from './unknown.ts';

/** A connection's bounds, from the server options of the same names (the rate limits as `messages` and `joins`). */
export interface Limits extends BacklogLimits {
  maxChannelsPerConnection: number;
  closeGraceMs: number;
  /** Most bytes queued for one connection (outboundHardCapBytes). */
  outboundHardCapBytes: number;
  messages: RateLimit;
  joins: RateLimit;
  /** The sweep's liveness and budget bounds (checkLiveness). */
  idleTimeoutMs: number;
  outboundBudgetBytes: number;
  slowConsumerGraceMs: number;
}

/** What a connection needs from the server that opened it (ServerCore implements it). Internal. */
export interface ConnectionHost {
  readonly clock: Clock;
  readonly limits: Limits;
  readonly observers: ObserverSet;
  readonly router: Pick<Router, 'match'>;
  readonly fanout: Pick<Fanout, 'subscribe' | 'unsubscribe'>;
  readonly presence: Presence;
  readonly broker: { readonly history: HistoryStore };
  readonly dedup: PushDeduplicator;
  publish(topic: string, event: string, payload: Payload, exclude: string | undefined): Promise<BroadcastResult>;
  /** The transport closed: the server forgets the connection. */
  connectionClosed(conn: Connection, code: number, reason: string): void;
}

export interface ConnectionInit {
  id: string;
  socketId: string | null;
  serializer: Serializer;
  transport: TransportSocket;
  assigns: Readonly<Record<string, unknown>>;
  connectParams: Readonly<Record<string, string>>;
  remoteAddress: string;
  origin: string | null;
  sameOrigin: boolean;
  transportKind: TransportKind;
}

const MAX_CLOSE_REASON_BYTES = 123;
/** The error reply's reason for a frame over a rate limit. */
const RATE_LIMITED = 'rate limited';
/** What ws reports when the socket ended without a close frame (RFC 6455 1006, never sent on the wire). */
const ABNORMAL_CLOSURE = 1006;

/** Close reasons must fit a close frame: at most 123 UTF-8 bytes. */
function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) return text;
  let cut = text.slice(0, MAX_CLOSE_REASON_BYTES);
  while (Buffer.byteLength(cut) > MAX_CLOSE_REASON_BYTES - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

export class Connection implements ChannelHost {
  readonly id: string;
  readonly socketId: string | null;
  readonly vsn: 1 | 2;
  /** The adapter's socket behind the outbound hard cap (outbound-cap.ts): every data frame goes through it. */
  readonly transport: TransportSocket;
  /** The connect hook's assigns; never mutated (each channel copies them on first use). */
  readonly assigns: Readonly<Record<string, unknown>>;
  readonly connectParams: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
  readonly origin: string | null;
  readonly sameOrigin: boolean;
  readonly transportKind: TransportKind;
  readonly openedAt: number;
  #lastSeen: number;
  /** When the outbound buffer was first seen over budget in the current stretch; 0 when under it. */
  #overBudgetSince = 0;
  #closing = false;
  /** When a close this server started gives up on the peer's close frame and cuts the socket; 0 = none. */
  #closeDeadline = 0;
  /** How this connection's channels see its end (`disconnect` after `server.disconnect(id)`). */
  #channelEndReason: 'close' | 'disconnect' = 'close';
  /** The code and reason this server closed with, reported instead of ws's 1006 when the socket had to be cut. */
  #sentClose: { code: number; reason: string } | null = null;
  readonly #serializer: Serializer;
  readonly #messageBucket: TokenBucket;
  /** Made on the first join. */
  #joinBucket: TokenBucket | null = null;
  readonly #channels = new Map<string, ChannelInstance>();

  readonly #server: ConnectionHost;

  constructor(server: ConnectionHost, init: ConnectionInit) {
    this.#server = server;
    this.id = init.id;
    this.socketId = init.socketId;
    this.#serializer = init.serializer;
    this.vsn = init.serializer.version;
    this.transport = new CappedTransport(init.transport, server.limits.outboundHardCapBytes, this.#overCap);
    this.assigns = init.assigns;
    this.connectParams = init.connectParams;
    this.remoteAddress = init.remoteAddress;
    this.origin = init.origin;
    this.sameOrigin = init.sameOrigin;
    this.transportKind = init.transportKind;
    this.openedAt = this.#lastSeen = server.clock.now();
    this.#messageBucket = new TokenBucket(server.limits.messages, this.openedAt);
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  // What its channels ask of the server (ChannelHost), answered here so they never see the server core.
  get backlog(): BacklogLimits {
    return this.#server.limits;
  }
  get observers(): ObserverSet {
    return this.#server.observers;
  }
  get presence(): Presence {
    return this.#server.presence;
  }
  get history(): HistoryStore {
    return this.#server.broker.history;
  }
  get dedup(): PushDeduplicator {
    return this.#server.dedup;
  }
  publish(topic: string, event: string, payload: Payload, excludeSelf: boolean): Promise<BroadcastResult> {
    return this.#server.publish(topic, event, payload, excludeSelf ? this.id : undefined);
  }
  subscribe(channel: Subscriber): Promise<void> | null {
    return this.#server.fanout.subscribe(channel);
  }
  unsubscribe(channel: Subscriber): void {
    this.#server.fanout.unsubscribe(channel);
  }

  /** The client is there though it sent no frame (a long-poll client polls instead of sending heartbeats). */
  touch(): void {
    this.#lastSeen = this.#server.clock.now();
  }

  /** One frame from the client, as text or (V2 binary) bytes. */
  receive(data: string | Uint8Array): void {
    if (this.#closing) return;
    const now = (this.#lastSeen = this.#server.clock.now());
    const hooks = this.#server.observers.hooks;
    // What the inbound backlog charges a frame: its length as received (characters of text, bytes of binary),
    // known without another pass over the data.
    const size = typeof data === 'string' ? data.length : data.byteLength;
    if (hooks.frameIn) hooks.frameIn({ connectionId: this.id, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength });
    let frame: Frame;
    try {
      frame = this.#serializer.decode(data);
    } catch (err) {
      const e = asError(err);
      hooks.error?.(e, `decode ${this.id}`);
      const name = e instanceof ProtocolError ? `ProtocolError ${e.code}` : e.name;
      this.close(CloseCodes.invalidFrame, `Invalid frame (${name}): ${e.message}`);
      return;
    }
    hooks.frameReceived?.({ connectionId: this.id, frame });
    const limits = this.#server.limits;
    let verdict = this.#messageBucket.take(limits.messages, now);
    if (verdict === RateVerdict.ok && frame.event === Events.join) {
      verdict = (this.#joinBucket ??= new TokenBucket(limits.joins, now)).take(limits.joins, now);
    }
    try {
      if (verdict === RateVerdict.ok) this.#route(frame, size);
      else this.#rateLimited(frame, verdict);
    } catch (err) {
      // A bug reached by some frame: this connection ends (1011), the process and the other connections do not.
      hooks.error?.(asError(err), `route ${this.id}`);
      this.close(CloseCodes.internalError, 'internal error');
    }
  }

  /** Refuses a frame over a rate limit: an error reply when it has a ref, and 4002 once it is one burst too many. */
  #rateLimited(frame: Frame, verdict: RateVerdict): void {
    const hooks = this.#server.observers.hooks;
    const join = frame.event === Events.join;
    hooks.rateLimited?.({ connectionId: this.id, kind: join ? 'join' : 'message', topic: frame.topic, event: frame.event });
    if (verdict === RateVerdict.exceeded) {
      const limit = join ? this.#server.limits.joins : this.#server.limits.messages;
      this.close(CloseCodes.rateLimited, `rate limited: over ${limit.perSecond} ${join ? 'joins' : 'messages'}/s beyond a burst of ${limit.burst}`);
      return;
    }
    if (join) hooks.joinRejected?.({ connectionId: this.id, topic: frame.topic, pattern: this.#server.router.match(frame.topic)?.pattern ?? null, reason: RATE_LIMITED });
    if (frame.ref !== null) this.send(replyFrame(frame.joinRef, frame.ref, frame.topic, 'error', { reason: RATE_LIMITED }));
  }

  #route(frame: Frame, size: number): void {
    const { topic, event } = frame;
    if (event === Events.heartbeat && topic === HEARTBEAT_TOPIC) {
      this.send(heartbeatReply(frame.ref));
      this.#server.observers.hooks.heartbeat?.({ connectionId: this.id });
      return;
    }
    if (event === Events.join) {
      this.#join(frame);
      return;
    }
    const channel = this.#channels.get(topic);
    if (channel === undefined) {
      if (event === Events.leave) this.sendReply(frame.joinRef, frame.ref, topic, { status: 'ok', response: {} });
      else this.send(unmatchedTopicReply(frame.ref, topic));
      return;
    }
    // Phoenix drops messages meant for an earlier instance of this channel; a null join_ref is accepted.
    if (frame.joinRef !== null && frame.joinRef !== channel.joinRef) return;
    channel.handle(frame, size);
  }

  #join(frame: Frame): void {
    const { topic } = frame;
    const hooks = this.#server.observers.hooks;
    const route = this.#server.router.match(topic);
    if (route === null) {
      this.send(unmatchedTopicReply(frame.ref, topic));
      hooks.joinRejected?.({ connectionId: this.id, topic, pattern: null, reason: ReplyReasons.unmatchedTopic });
      return;
    }
    const existing = this.#channels.get(topic);
    if (existing === undefined && this.#channels.size >= this.#server.limits.maxChannelsPerConnection) {
      this.send(replyFrame(frame.joinRef, frame.ref, topic, 'error', { reason: ReplyReasons.tooManyChannels }));
      hooks.joinRejected?.({ connectionId: this.id, topic, pattern: route.pattern, reason: ReplyReasons.tooManyChannels });
      return;
    }
    if (!isJsonObject(frame.payload)) {
      this.send(replyFrame(frame.joinRef, frame.ref, topic, 'error', { reason: 'join params must be a JSON object' }));
      hooks.joinRejected?.({ connectionId: this.id, topic, pattern: route.pattern, reason: 'invalid join params' });
      return;
    }
    // Phoenix stops the old instance first, but its phx_close reaches the client after the new join's reply.
    let afterReply: (() => void) | null = null;
    if (existing !== undefined) {
      existing.stop('duplicate_join', false);
      afterReply = () => this.send(closeFrame(existing.joinRef, topic));
    }
    const channel = new ChannelInstance(this, route, topic, frame.joinRef);
    this.#channels.set(topic, channel);
    channel.join(frame.payload, frame.ref, afterReply, frame.meta);
  }

  /** Removes a channel that ended (only if it is still the current instance of its topic). */
  forget(channel: Subscriber): void {
    if (this.#channels.get(channel.topic) === channel) this.#channels.delete(channel.topic);
  }

  send(frame: Frame): void {
    if (this.#closing) return;
    let data: string | Uint8Array;
    try {
      data = this.#serializer.encode(frame);
    } catch (err) {
      // Too deep, a cycle, a BigInt, a binary field over 255 bytes: reported, and a reply still answers its push.
      this.#server.observers.hooks.error?.(asError(err), `encode ${frame.topic} ${frame.event} for ${this.id}`);
      if (frame.event !== Events.reply || frame.ref === null) return;
      // JSON with string fields only: this encoding cannot fail.
      data = this.#serializer.encode(replyFrame(frame.joinRef, frame.ref, frame.topic, 'error', { reason: ReplyReasons.unencodableReply }));
    }
    this.transport.send(data);
    const frameOut = this.#server.observers.hooks.frameOut;
    if (frameOut) frameOut(typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength, 1);
  }

  sendShared(frame: SharedFrame): void {
    this.transport.sendShared(frame);
  }

  /** `meta` (Tether's V2 meta element, docs/recovery.md) is only ever given for opted-in connections. */
  sendReply(joinRef: string | null, ref: string | null, topic: string, reply: Reply, meta?: JsonObject): void {
    // V1 cannot carry bytes: answer with an error the client can read instead of dropping the reply.
    const response: Payload =
      this.vsn === 1 && reply.response instanceof Uint8Array ? { reason: 'binary_unsupported' } : reply.response;
    const status = response === reply.response ? reply.status : 'error';
    const frame = replyFrame(joinRef, ref, topic, status, response);
    if (meta !== undefined && this.vsn === 2) frame.meta = meta;
    this.send(frame);
  }

  /** A frame would have taken the queue past the hard cap: it was not queued; the connection ends now (4001). */
  readonly #overCap = (bufferedBytes: number, frameBytes: number): void => {
    if (this.#closing) return;
    this.#server.observers.hooks.slowConsumer?.({ connectionId: this.id, bufferedBytes, cause: 'hardCap' });
    const cap = this.#server.limits.outboundHardCapBytes;
    this.close(CloseCodes.slowConsumer, `slow consumer: a ${frameBytes}-byte frame on ${bufferedBytes} queued bytes would pass the hard cap of ${cap}`);
  };

  /**
   * The server's sweep asks (every `sweepIntervalMs`): a close the peer never answered is cut, and an idle
   * connection or one over its outbound budget for the whole grace is closed.
   */
  checkLiveness(now: number): void {
    if (this.#closing) {
      // A peer that does not answer our close frame (not reading, or gone) would hold its buffers for ws's 30 s.
      if (this.#closeDeadline !== 0 && now >= this.#closeDeadline) this.transport.terminate();
      return;
    }
    const { idleTimeoutMs, outboundBudgetBytes, slowConsumerGraceMs } = this.#server.limits;
    if (now - this.#lastSeen >= idleTimeoutMs) {
      this.#server.observers.hooks.idleTimeout?.({ connectionId: this.id });
      this.close(CloseCodes.idleTimeout, `idle timeout: no frame received for ${idleTimeoutMs} ms`);
      return;
    }
    const buffered = this.transport.bufferedAmount;
    if (buffered <= outboundBudgetBytes) {
      this.#overBudgetSince = 0;
    } else if (this.#overBudgetSince === 0) {
      this.#overBudgetSince = now;
    } else if (now - this.#overBudgetSince >= slowConsumerGraceMs) {
      this.#server.observers.hooks.slowConsumer?.({ connectionId: this.id, bufferedBytes: buffered, cause: 'grace' });
      this.close(CloseCodes.slowConsumer, `slow consumer: over ${outboundBudgetBytes} buffered bytes for ${slowConsumerGraceMs} ms`);
    }
  }

  /** `server.disconnect(id)`: closes with 1001 (clients reconnect), and the channels end with reason `disconnect`. */
  disconnect(): void {
    this.#channelEndReason = 'disconnect';
    this.close(CloseCodes.goingAway, 'disconnected by the server');
  }

  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeDeadline = this.#server.clock.now() + this.#server.limits.closeGraceMs;
    reason = closeReason(reason);
    this.#sentClose = { code, reason };
    this.transport.close(code, reason);
  }

  /** The transport closed (for any reason): end every channel and forget the connection. */
  closed(code: number, reason: string): void {
    this.#closing = true;
    if (code === ABNORMAL_CLOSURE && this.#sentClose !== null) ({ code, reason } = this.#sentClose);
    for (const channel of [...this.#channels.values()]) {
      try {
        channel.stop(this.#channelEndReason, false);
      } catch (err) {
        this.#server.observers.hooks.error?.(asError(err), `close ${this.id} ${channel.topic}`);
      }
    }
    this.#channels.clear();
    this.#server.connectionClosed(this, code, reason);
  }
}
