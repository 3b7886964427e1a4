import type { Frame } from '../protocol/frame.ts';
import type { BroadcastFailure } from './channel.ts';
import type { TransportKind } from './options.ts';
import { asError } from './unknown.ts';

/**
 * Instrumentation hooks. Every member is optional and called synchronously on the server's own path, so an
 * implementation must be cheap; the server skips a hook entirely when no observer implements it.
 */
export interface ServerObserver {
  connectionOpened?(info: { id: string; vsn: 1 | 2; remoteAddress: string; transport: TransportKind }): void;
  /** `code` is the WebSocket close code; a long-poll session reports the code it was closed with, 1006 when it expired. */
  connectionClosed?(info: { id: string; code: number; reason: string; durationMs: number; transport: TransportKind }): void;
  /** 403 auth, origin or vsn; 503 max connections or draining. */
  connectionRejected?(info: { status: number; reason: string }): void;
  channelJoined?(info: { connectionId: string; topic: string; pattern: string }): void;
  joinRejected?(info: { connectionId: string; topic: string; pattern: string | null; reason: string }): void;
  channelLeft?(info: {
    connectionId: string;
    topic: string;
    pattern: string;
    reason: 'leave' | 'close' | 'crash' | 'duplicate_join' | 'disconnect' | 'gap';
  }): void;
  frameIn?(info: { connectionId: string; bytes: number }): void;
  /** A client frame decoded, before routing (tests and debugging: the frame object is the server's, do not mutate it). */
  frameReceived?(info: { connectionId: string; frame: Frame }): void;
  /** Called once per send: a broadcast reports its total bytes and its number of frames in one call. */
  frameOut?(bytes: number, frames: number): void;
  handled?(info: { pattern: string; event: string; durationMs: number; status: 'ok' | 'error' | 'noreply' | 'crash' }): void;
  broadcast?(info: { topic: string; event: string; recipients: number }): void;
  /** A broadcast did not go out (`broadcast` resolved `ok: false`); the error itself goes to `error`. */
  broadcastFailed?(info: { topic: string; event: string; reason: BroadcastFailure }): void;
  heartbeat?(info: { connectionId: string }): void;
  idleTimeout?(info: { connectionId: string }): void;
  /**
   * A connection is being closed with 4001: over `outboundBudgetBytes` for `slowConsumerGraceMs` (`grace`), or a
   * frame would have passed `outboundHardCapBytes` and was not queued (`hardCap`).
   */
  slowConsumer?(info: { connectionId: string; bufferedBytes: number; cause: 'grace' | 'hardCap' }): void;
  /** A frame over `messagesPerSecond` / `joinsPerSecond` was refused (or, one burst too many, the connection closed with 4002). */
  rateLimited?(info: { connectionId: string; kind: 'join' | 'message'; topic: string; event: string }): void;
  /**
   * A frame was refused because its channel's inbound backlog (frames waiting for its join or an async
   * handleIn) was full; `closed` when it was one refusal too many and the connection was closed with 4003.
   */
  inboundBacklogFull?(info: { connectionId: string; topic: string; event: string; closed: boolean }): void;
  error?(err: Error, context: string): void;
  /**
   * The broker may have lost messages on these topics (e.g. its connection dropped and came back) and they
   * keep no history, so nothing can be replayed: their subscribers may have missed broadcasts.
   */
  brokerGap?(info: { topics: string[] }): void;
  /** A push from an opted-in connection carried an outbox id (meta `{id}`), so it is de-duplicated. */
  outboxPush?(info: { topic: string }): void;
  /** A resent push was answered from the de-duplication window; its handler did not run again. */
  dedupHit?(info: { topic: string }): void;
}

type Hooks = Required<ServerObserver>;
type HookName = keyof Hooks;

const HOOKS: readonly HookName[] = [
  'connectionOpened', 'connectionClosed', 'connectionRejected', 'channelJoined', 'joinRejected', 'channelLeft',
  'frameIn', 'frameReceived', 'frameOut', 'handled', 'broadcast', 'broadcastFailed', 'heartbeat', 'idleTimeout', 'slowConsumer', 'rateLimited', 'inboundBacklogFull', 'error', 'brokerGap',
  'outboxPush', 'dedupHit',
];

/**
 * The observers attached to one server, composed into one object whose members are undefined unless some
 * observer implements them, so call sites read `observers.hooks.frameOut?.(…)` and pay nothing otherwise.
 * A throwing observer is reported through the others' `error` hook and never breaks the server.
 */
export class ObserverSet {
  hooks: ServerObserver = {};
  readonly #observers: ServerObserver[] = [];

  add(observer: ServerObserver): () => void {
    this.#observers.push(observer);
    this.#compose();
    return () => {
      const i = this.#observers.indexOf(observer);
      if (i >= 0) {
        this.#observers.splice(i, 1);
        this.#compose();
      }
    };
  }

  #compose(): void {
    const hooks: Record<string, unknown> = {};
    for (const name of HOOKS) {
      const implementers = this.#observers.filter((o) => typeof o[name] === 'function');
      if (implementers.length > 0) hooks[name] = this.#fanOut(name, implementers);
    }
    this.hooks = hooks as ServerObserver;
  }

  #fanOut(name: HookName, implementers: ServerObserver[]): (...args: unknown[]) => void {
    return (...args: unknown[]) => {
      for (const o of implementers) {
        try {
          (o[name] as (...a: unknown[]) => void).apply(o, args);
        } catch (err) {
          if (name !== 'error') this.hooks.error?.(asError(err), `observer.${name}`);
        }
      }
    };
  }
}
