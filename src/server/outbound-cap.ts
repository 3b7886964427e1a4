/**
 * The outbound hard cap: what is queued for one connection never passes `outboundHardCapBytes`. Every data
 * frame the core sends (replies, pushes, broadcasts) goes through a CappedTransport; a frame that would take
 * the queue past the cap is not handed to the socket at all, and the owner is told so it can close the
 * connection (4001). Close frames bypass the check: control frames are never dropped.
 */
import type { SharedFrame, TransportSocket } from './transport.ts';

/** The longest header of a server frame (unmasked, 64-bit length), counted so the cap holds for wire bytes. */
const MAX_FRAME_HEADER = 10;
/** A UTF-16 code unit encodes to at most 3 UTF-8 bytes: a bound that spares measuring most strings. */
const MAX_UTF8_PER_UNIT = 3;

export type OverCap = (bufferedBytes: number, frameBytes: number) => void;

export class CappedTransport implements TransportSocket {
  readonly #inner: TransportSocket;
  readonly #cap: number;
  readonly #overCap: OverCap;

  constructor(inner: TransportSocket, capBytes: number, overCap: OverCap) {
    this.#inner = inner;
    this.#cap = capBytes;
    this.#overCap = overCap;
  }

  send(data: string | Uint8Array): void {
    const buffered = this.#inner.bufferedAmount;
    if (typeof data === 'string') {
      if (buffered + data.length * MAX_UTF8_PER_UNIT + MAX_FRAME_HEADER > this.#cap && !this.#fits(buffered, Buffer.byteLength(data))) return;
    } else if (!this.#fits(buffered, data.byteLength)) {
      return;
    }
    this.#inner.send(data);
  }

  sendShared(frame: SharedFrame): void {
    // Compressed frames count what goes on the wire.
    const bytes = this.#inner.sharedWireBytes?.(frame) ?? frame.byteLength;
    if (this.#fits(this.#inner.bufferedAmount, bytes)) this.#inner.sendShared(frame);
  }

  #fits(buffered: number, bytes: number): boolean {
    if (buffered + bytes + MAX_FRAME_HEADER <= this.#cap) return true;
    this.#overCap(buffered, bytes);
    return false;
  }

  get bufferedAmount(): number {
    return this.#inner.bufferedAmount;
  }

  close(code: number, reason: string): void {
    this.#inner.close(code, reason);
  }

  terminate(): void {
    this.#inner.terminate();
  }

  corked(write: () => void): void {
    if (this.#inner.corked) this.#inner.corked(write);
    else write();
  }
}
