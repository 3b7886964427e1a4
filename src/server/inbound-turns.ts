/**
 * Fairness on the way in: a connection that sends frames back to back must not hold the event loop while its
 * neighbours wait. Each connection (an InboundLane) has at most `framesPerTurn` frames handled per turn of the
 * event loop; the rest wait, in order, and are handled round-robin with every other waiting connection, one
 * share each per turn. A connection whose waiting frames pass `backlogFrames` or `backlogBytes` is paused (its
 * socket is not read) until half of them are handled, so TCP pushes back on the sender instead of memory
 * growing here. A frame that arrives while nothing waits and its lane has share left is handled at once:
 * the fair path costs nothing until a connection actually floods.
 *
 * Turns are counted by the scheduler's own runs (a `setImmediate`, which runs after the current I/O phase),
 * scheduled only when a lane has used its share: so a share may span several quiet loop turns, which only
 * means that a connection's 33rd frame in a quiet spell waits until the end of the current I/O phase.
 */

export interface TurnLimits {
  framesPerTurn: number;
  backlogFrames: number;
  backlogBytes: number;
}

/** One connection's place in the rotation; the adapter's socket wrapper extends it. */
export abstract class InboundLane {
  /** The turn `used` counts for. */
  turn = -1;
  used = 0;
  /** Frames waiting for their turn (from `head` on), and whether each is binary. Made on the first wait. */
  frames: (Buffer | undefined)[] | null = null;
  binary: boolean[] | null = null;
  head = 0;
  waitingBytes = 0;
  /** In the ready list of the scheduler. */
  queued = false;
  paused = false;
  /** The socket closed: waiting frames are dropped and nothing more is handled. */
  ended = false;

  get waiting(): number {
    return this.frames === null ? 0 : this.frames.length - this.head;
  }

  /** Handles one client frame now. */
  abstract deliver(data: Buffer, isBinary: boolean): void;
  /** Stop reading the socket (TCP pushes back) / read it again. */
  abstract pauseReading(): void;
  abstract resumeReading(): void;

  /** The socket closed: forget what waits. */
  end(): void {
    this.ended = true;
    this.frames = this.binary = null;
    this.head = this.waitingBytes = 0;
  }
}

export class InboundTurns {
  readonly #limits: TurnLimits;
  readonly #onError: (err: unknown) => void;
  #turn = 0;
  #scheduled = false;
  /** Lanes with frames waiting, in the order they get their next share. */
  #ready: InboundLane[] = [];
  #spare: InboundLane[] = [];

  constructor(limits: TurnLimits, onError: (err: unknown) => void) {
    this.#limits = limits;
    this.#onError = onError;
  }

  receive(lane: InboundLane, data: Buffer, isBinary: boolean): void {
    if (lane.ended) return;
    if (lane.turn !== this.#turn) {
      lane.turn = this.#turn;
      lane.used = 0;
    }
    if (lane.waiting === 0 && lane.used < this.#limits.framesPerTurn) {
      lane.used++;
      this.#deliver(lane, data, isBinary);
      return;
    }
    if (lane.frames === null) {
      lane.frames = [];
      lane.binary = [];
    }
    lane.frames.push(data);
    lane.binary!.push(isBinary);
    lane.waitingBytes += data.length;
    if (!lane.queued) {
      lane.queued = true;
      this.#ready.push(lane);
    }
    if (!lane.paused && (lane.waiting > this.#limits.backlogFrames || lane.waitingBytes > this.#limits.backlogBytes)) {
      lane.paused = true;
      lane.pauseReading();
    }
    if (!this.#scheduled) this.#schedule();
  }

  #schedule(): void {
    this.#scheduled = true;
    setImmediate(this.#run);
  }

  /** One turn: every waiting lane gets up to its share, in rotation; lanes with more left go to the back. */
  readonly #run = (): void => {
    this.#scheduled = false;
    this.#turn++;
    const ready = this.#ready;
    this.#ready = this.#spare;
    const { framesPerTurn, backlogFrames, backlogBytes } = this.#limits;
    for (let i = 0; i < ready.length; i++) {
      const lane = ready[i];
      lane.queued = false;
      lane.turn = this.#turn;
      lane.used = 0;
      while (!lane.ended && lane.used < framesPerTurn && lane.waiting > 0) {
        const frames = lane.frames!;
        const data = frames[lane.head]!;
        const isBinary = lane.binary![lane.head];
        frames[lane.head++] = undefined;
        lane.waitingBytes -= data.length;
        lane.used++;
        this.#deliver(lane, data, isBinary);
      }
      if (lane.ended) continue;
      if (lane.waiting > 0) {
        lane.queued = true;
        this.#ready.push(lane);
        // Drop the handled slots once they outnumber the waiting ones (amortised O(1) per frame).
        if (lane.head >= 64 && lane.head >= lane.waiting) {
          lane.frames!.splice(0, lane.head);
          lane.binary!.splice(0, lane.head);
          lane.head = 0;
        }
      } else {
        lane.frames!.length = lane.binary!.length = 0;
        lane.head = 0;
      }
      if (lane.paused && lane.waiting <= backlogFrames / 2 && lane.waitingBytes <= backlogBytes / 2) {
        lane.paused = false;
        lane.resumeReading();
      }
    }
    ready.length = 0;
    this.#spare = ready;
    if (this.#ready.length > 0) {
      if (!this.#scheduled) this.#schedule();
    } else {
      // Nothing waits: whatever arrives next comes in a later turn, with a fresh share for every lane.
      this.#turn++;
    }
  };

  #deliver(lane: InboundLane, data: Buffer, isBinary: boolean): void {
    try {
      lane.deliver(data, isBinary);
    } catch (err) {
      this.#onError(err);
    }
  }
}
