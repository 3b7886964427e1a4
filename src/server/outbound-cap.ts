/**
 * The outbound hard cap: what is queued for one connection never passes `outboundHardCapBytes`. Connection.send
 * and sendShared ask before every data frame (replies, pushes, broadcasts); a frame that would take the queue
 * past the cap is not handed to the socket at all, and the connection closes (4001). Close frames bypass the
 * check: control frames are never dropped. Plain functions, so no connection carries an object for the cap.
 */
import type { SharedFrame, TransportSocket } from './transport.ts';

/** The longest header of a server frame (unmasked, 64-bit length), counted so the cap holds for wire bytes. */
const MAX_FRAME_HEADER = 10;
/** A UTF-16 code unit encodes to at most 3 UTF-8 bytes: a bound that spares measuring most strings. */
const MAX_UTF8_PER_UNIT = 3;

/** What `bytesOverCap` answers for a frame that fits. */
export const FITS = -1;

/**
 * The frame's size in wire bytes when queueing it on top of `buffered` bytes would pass `capBytes`; FITS
 * otherwise. A string is only measured when its worst case (3 bytes per code unit) would not fit.
 */
export function bytesOverCap(buffered: number, data: string | Uint8Array, capBytes: number): number {
  if (typeof data !== 'string') return overCap(buffered, data.byteLength, capBytes);
  if (buffered + data.length * MAX_UTF8_PER_UNIT + MAX_FRAME_HEADER <= capBytes) return FITS;
  return overCap(buffered, Buffer.byteLength(data), capBytes);
}

/** `bytesOverCap` for a broadcast's shared frame: a compressed frame counts what goes on the wire. */
export function sharedBytesOverCap(transport: TransportSocket, frame: SharedFrame, capBytes: number): number {
  return overCap(transport.bufferedAmount, transport.sharedWireBytes?.(frame) ?? frame.byteLength, capBytes);
}

function overCap(buffered: number, bytes: number, capBytes: number): number {
  return buffered + bytes + MAX_FRAME_HEADER <= capBytes ? FITS : bytes;
}
