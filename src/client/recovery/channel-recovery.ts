/**
 * Recovery for one client channel: the position it sends when it rejoins, what the join reply says about
 * it, and the check every positioned message passes before the app sees it (docs/recovery.md).
 */
import type { FrameMeta, JsonObject } from '../../protocol/frame.ts';
import { joinMeta, parseJoinReplyMeta, positionOf, type JoinRecoveryContext } from '../../protocol/extension.ts';
import { PositionTracker } from './position-tracker.ts';

/** What the channel does with an incoming message. */
export type Admission =
  | 'deliver'
  /** Already delivered (a replay overlapping live messages): never delivered twice. */
  | 'drop'
  /** A gap or a reset stream: do not deliver; rejoin from the last good position. */
  | 'rejoin';

export class ChannelRecovery {
  readonly topic: string;
  readonly #tracker = new PositionTracker();
  #recovering = false;
  #duplicates = 0;

  constructor(topic: string) {
    this.topic = topic;
  }

  /** Messages dropped because they had been delivered already. */
  get duplicatesDropped(): number {
    return this.#duplicates;
  }

  /** The meta of the next join: `{since}` once a position is known, else none (a first join). */
  joinMeta(): JsonObject | undefined {
    const since = this.#tracker.get(this.topic);
    this.#recovering = since !== undefined;
    return joinMeta(since);
  }

  /** Reads the ok join reply's meta; the position follows unless the replay is about to bring it forward. */
  joined(replyMeta: FrameMeta | undefined): JoinRecoveryContext {
    const context = parseJoinReplyMeta(replyMeta, this.#recovering);
    if (!context.recovered) {
      if (context.position === undefined) this.#tracker.forget(this.topic);
      else this.#tracker.set(this.topic, context.position);
    }
    return context;
  }

  admit(meta: FrameMeta | undefined): Admission {
    const position = positionOf(meta);
    if (position === undefined) return 'deliver';
    const check = this.#tracker.check(this.topic, position);
    switch (check.kind) {
      case 'next':
        return 'deliver';
      case 'duplicate':
        this.#duplicates++;
        return 'drop';
      default:
        return 'rejoin';
    }
  }
}
