/** Live counters behind `socket.stats()`: plain numbers updated in place, so reading them allocates one object. */
import type { SocketState } from './states.ts';

export interface SocketStats {
  state: SocketState;
  /** The transport of the current (or last) connection: `websocket`, `longpoll`, or `custom` (a factory without a name). */
  transport: string;
  /** Wall-clock ms when the current connection opened; null when not open. */
  connectedSince: number | null;
  /** Connections opened after a loss (the first open is not counted). */
  reconnects: number;
  messagesIn: number;
  messagesOut: number;
  /** Payload bytes of the frames received: binary sizes plus the UTF-8 size of text frames. */
  bytesIn: number;
  /** Payload bytes of the frames sent: binary sizes plus the UTF-8 size of text frames. */
  bytesOut: number;
  /** The latest heartbeat or ping round trip, ms, on the monotonic clock (performance.now: sub-millisecond). */
  lastRttMs: number | null;
  /** Exponentially smoothed round trip (weight 1/8, as TCP's SRTT), ms, monotonic clock. */
  smoothedRttMs: number | null;
  /** Heartbeat deadlines that passed without a reply. */
  heartbeatMisses: number;
  /** Late timers (throttled or suspended process, clock steps) turned into immediate probes. */
  timeJumps: number;
  /** Pushes sent and awaiting their reply (joins, leaves and pings included). */
  pendingPushes: number;
  /** Messages held by the outbox (unsent plus sent-and-unanswered). */
  outboxDepth: number;
  outboxBytes: number;
  channels: number;
  /** Messages and replies dropped because they carried a join_ref other than their channel's (or push's) current one. */
  staleDropped: number;
  /** Frames that could not be decoded, and replies without `{status, response}` (each also raised an `invalid_frame` error event). */
  invalidFrames: number;
}

export class Counters {
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  reconnects = 0;
  lastRttMs: number | null = null;
  smoothedRttMs: number | null = null;
  staleDropped = 0;
  invalidFrames = 0;

  rtt(ms: number): void {
    this.lastRttMs = ms;
    this.smoothedRttMs = this.smoothedRttMs === null ? ms : this.smoothedRttMs + (ms - this.smoothedRttMs) / 8;
  }
}
