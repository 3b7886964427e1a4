/**
 * The two per-channel pieces of recovery the server's channel instance calls into: `JoinReplay` (the
 * history read, join reply meta and replay of one join) and `PushDedup` (effectively-once pushes). Both are
 * created only for connections that opted in (`tether=1`, V2), so a stock Phoenix peer never meets them.
 */
import type { HistoryPolicy, HistoryStore, StreamPosition } from '../../broker/types.ts';
import { ReplyReasons } from '../../protocol/events.ts';
import { joinReplyMeta, optsIn, parseSince, pushId } from '../../protocol/extension.ts';
import type { Frame, FrameMeta, JsonObject, Payload } from '../../protocol/frame.ts';
import type { ObserverSet } from '../observer.ts';
import type { PositionedFrame } from '../fanout.ts';
import type { SharedFrame } from '../transport.ts';
import type { DedupDecision, PushDeduplicator, PushOutcome } from './push-dedup.ts';
import { LiveSeam, recover, type JoinRecovery } from './replay.ts';

function positionOfFrame(frame: SharedFrame): StreamPosition | undefined {
  return (frame as Partial<PositionedFrame>).position;
}

/** True when a connection speaks the extension: opted in with `tether=1` over V2 JSON. */
export function speaksRecovery(vsn: 1 | 2, connectParams: Readonly<Record<string, string>>): boolean {
  return vsn === 2 && optsIn(connectParams);
}

/**
 * Checks a channel definition's `history` when the server starts. History-enabled channels may not
 * intercept events: a replay cannot run `handleOut`, so a recovering client would see other messages than
 * a live one did.
 */
export function validateHistory(pattern: string, history: HistoryPolicy | undefined, intercept: readonly string[] | undefined): void {
  if (history === undefined) return;
  const { maxMessages, ttlMs } = history;
  const positive = (v: number | undefined) => v === undefined || (Number.isFinite(v) && v > 0);
  if ((maxMessages === undefined && ttlMs === undefined) || !positive(maxMessages) || !positive(ttlMs)) {
    throw new TypeError(`channel "${pattern}": history needs maxMessages and/or ttlMs, each a positive number`);
  }
  if (intercept !== undefined && intercept.length > 0) {
    throw new TypeError(`channel "${pattern}": a history-enabled channel cannot intercept events (replay bypasses handleOut)`);
  }
}

/** Refuses what a history-enabled topic cannot store with an offset the client could read back. */
export function isStorable(payload: Payload): boolean {
  return !(payload instanceof Uint8Array);
}

export function notStorableError(topic: string): TypeError {
  return new TypeError(`broadcast on ${topic}: its channel keeps history, and a V2 binary frame cannot carry the offset; send JSON`);
}

/**
 * One join of a history-enabled topic by an opted-in connection. Create it before the channel subscribes,
 * route every live frame through `admit`, `await read()` once the subscription is live, send the join reply
 * with `replyMeta()`, then `flush()`.
 */
export class JoinReplay {
  readonly #since: StreamPosition | undefined;
  readonly #invalid: string | undefined;
  readonly #seam = new LiveSeam<SharedFrame>(positionOfFrame);
  #outcome: JoinRecovery | undefined;

  constructor(joinMeta: FrameMeta | undefined) {
    const parsed = parseSince(joinMeta);
    this.#since = parsed.ok ? parsed.since : undefined;
    this.#invalid = parsed.ok ? undefined : parsed.reason;
  }

  /** True when the caller should send this live frame now; false while the replay holds it (or already had it). */
  admit(frame: SharedFrame): boolean {
    return this.#seam.admit(frame);
  }

  async read(history: HistoryStore, topic: string, onError: (error: Error) => void): Promise<void> {
    if (this.#invalid !== undefined) onError(new Error(`join ${topic}: ${this.#invalid}; joining without recovery`));
    this.#outcome = await recover(history, topic, this.#since, onError);
  }

  replyMeta(): JsonObject {
    return this.#outcome === undefined ? {} : joinReplyMeta(this.#outcome);
  }

  /**
   * Sends the replayed entries as channel pushes, then the live frames held meanwhile. Returns false (and
   * sends nothing) when the seam overflowed: the caller must fail the channel so the client rejoins.
   */
  flush(joinRef: string | null, topic: string, send: (frame: Frame) => void, sendShared: (frame: SharedFrame) => void): boolean {
    const outcome = this.#outcome;
    if (outcome === undefined) return false;
    const held = this.#seam.open(outcome.position);
    if (held === null) return false;
    if (outcome.kind === 'recovered') {
      const epoch = outcome.position.epoch;
      for (const entry of outcome.entries) {
        send({ joinRef, ref: null, topic, event: entry.event, payload: entry.payload, meta: { o: entry.offset, e: epoch } });
      }
    }
    for (const frame of held) sendShared(frame);
    return true;
  }
}

type SendReply = (ref: string | null, status: string, response: Payload, meta: JsonObject) => void;

const DUPLICATE_META: JsonObject = Object.freeze({ dup: true }) as JsonObject;

/**
 * Effectively-once pushes on one channel of an opted-in connection: `begin` decides whether a push runs,
 * `settle` records what it produced, `crashed` settles every push still running when the channel crashes.
 */
export class PushDedup {
  readonly #dedup: PushDeduplicator;
  readonly #scope: string;
  readonly #topic: string;
  readonly #sendReply: SendReply;
  readonly #observers: ObserverSet;
  /** Runs in progress on this channel, by the push's ref. */
  readonly #running = new Map<string | null, (outcome: PushOutcome) => void>();

  constructor(dedup: PushDeduplicator, scope: string, topic: string, observers: ObserverSet, sendReply: SendReply) {
    this.#dedup = dedup;
    this.#observers = observers;
    this.#scope = scope;
    this.#topic = topic;
    this.#sendReply = sendReply;
  }

  /** True when the handler should run; false when this push is a resend, answered from the window. */
  begin(frame: Frame): boolean {
    const id = this.#pushId(frame);
    return id === undefined || this.#decided(frame, this.#dedup.begin(this.#scope, this.#topic, id));
  }

  /** True when pushes with an outbox id must go through `beginShared` (the store is shared across nodes). */
  get shared(): boolean {
    return this.#dedup.shared;
  }

  /** `begin` against the shared store: one round trip for a push with an outbox id, none without. */
  beginShared(frame: Frame): boolean | Promise<boolean> {
    const id = this.#pushId(frame);
    if (id === undefined) return true;
    return this.#dedup.beginShared(this.#scope, this.#topic, id).then((decision) => this.#decided(frame, decision));
  }

  #pushId(frame: Frame): string | undefined {
    const id = pushId(frame.meta);
    if (id !== undefined) this.#observers.hooks.outboxPush?.({ topic: this.#topic });
    return id;
  }

  #decided(frame: Frame, decision: DedupDecision): boolean {
    if (decision.kind === 'run') {
      this.#running.set(frame.ref, decision.settle);
      return true;
    }
    this.#observers.hooks.dedupHit?.({ topic: this.#topic });
    void decision.outcome.then((outcome) => {
      if (outcome.kind === 'reply') this.#sendReply(frame.ref, outcome.status, outcome.response, DUPLICATE_META);
      else if (outcome.kind === 'crash') this.#sendReply(frame.ref, 'error', { reason: ReplyReasons.channelCrash }, DUPLICATE_META);
    });
    return false;
  }

  /** The handler for the push `ref` finished with a reply (or none). */
  settle(ref: string | null, reply: { status: string; response: Payload } | undefined | void): void {
    const settle = this.#running.get(ref);
    if (settle === undefined) return;
    this.#running.delete(ref);
    settle(reply ? { kind: 'reply', status: reply.status, response: reply.response } : { kind: 'noreply' });
  }

  /** A claimed push that will not run (its channel ended while the claim was in flight): resends get an error. */
  abandon(ref: string | null): void {
    const settle = this.#running.get(ref);
    if (settle === undefined) return;
    this.#running.delete(ref);
    settle({ kind: 'crash' });
  }

  crashed(): void {
    for (const settle of this.#running.values()) settle({ kind: 'crash' });
    this.#running.clear();
  }
}
