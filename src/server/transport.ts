/**
 * The seam between the runtime-free server core and a WebSocket implementation. An adapter (see
 * ws-adapter.ts) wraps each accepted socket in a TransportSocket and feeds the core its frames.
 */

/**
 * One encoded frame shared by every recipient of a broadcast. `framed` belongs to the adapter: it may cache
 * the fully framed wire bytes there the first time it sends the frame, so later recipients cost one write.
 */
export interface SharedFrame {
  /** Text frames are strings; V2 binary frames are bytes. */
  readonly data: string | Uint8Array;
  readonly byteLength: number;
  framed: unknown;
  /** The adapter's cache of the compressed framing (permessage-deflate), made once for every recipient. */
  deflated: unknown;
  /** A binary frame's base64 text as long-poll sends it, made once for every long-poll recipient. */
  base64: string | undefined;
}

export interface TransportSocket {
  send(data: string | Uint8Array): void;
  sendShared(frame: SharedFrame): void;
  /** The bytes `sendShared(frame)` would queue (less than `byteLength` when it goes out compressed). */
  sharedWireBytes?(frame: SharedFrame): number;
  /** Bytes accepted by `send` but not yet handed to the OS. */
  readonly bufferedAmount: number;
  /** `reason` must fit a close frame (123 bytes); the core truncates it. */
  close(code: number, reason: string): void;
  /** Drops the connection at once, without waiting for the peer's close frame. */
  terminate(): void;
  /**
   * Runs `write` (several sends in a row) and hands what it sent to the OS as one write, not one per frame:
   * a join reply and its replay. Optional: without it each send is written on its own.
   */
  corked?(write: () => void): void;
}

export function sharedFrame(data: string | Uint8Array): SharedFrame {
  return { data, byteLength: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength, framed: undefined, deflated: undefined, base64: undefined };
}
