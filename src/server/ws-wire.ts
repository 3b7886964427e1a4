/**
 * The one place a pre-encoded frame (a broadcast's SharedFrame) reaches a `ws` socket.
 *
 * Decision. A broadcast is encoded once per wire format (fanout.ts) and, here, framed once: header + payload
 * in one Buffer cached on the SharedFrame, written to each recipient's TCP socket when that socket's ws
 * Sender is idle (otherwise through `ws.send`, so frames never interleave). That needs three `ws` internals:
 * `Sender.frame` (the framing function), `ws._socket` and `ws._sender._state`. They are checked once, on the
 * first accepted socket (`wireMode`): the framing of a known payload must give the RFC 6455 bytes, `_socket`
 * must be the very socket ws was handed, and a fresh Sender must report the idle state. If any check fails the
 * process uses only the public API for good: `ws.send(bytes, {binary})` with the payload's UTF-8 bytes cached
 * on the SharedFrame (encoded once, framed by ws per socket). `package.json` pins `ws` to the minor range this
 * was tested with, and test/server/ws-wire.test.ts fails when a `ws` upgrade changes the internals.
 *
 * Why not the public API alone: it costs a header allocation and a two-buffer write per recipient on top of
 * the shared payload, 9-15 % more server CPU per delivery (`node bench/wire-paths.ts`, docs/benchmarks.md,
 * 2026-11-30), and it cannot write a frame compressed ahead of time. Pre-compressed frames (permessage-deflate) are to take this same path: a second cached
 * framing on the SharedFrame with RSV1 set, written only to sockets that negotiated
 * `server_no_context_takeover` while their Sender is idle; in public mode (or when a socket's Sender is busy)
 * they go out through `ws.send` of the uncompressed data, which a permessage-deflate peer must accept
 * (RFC 7692 section 6: compression is per message).
 */
import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import type { WebSocket } from 'ws';
import type { SharedFrame } from './transport.ts';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
type FrameFunction = (data: Buffer, options: FrameOptions) => Buffer[];

/** The ws internals the raw path reads (absent from @types/ws). */
interface WsInternals {
  _socket?: unknown;
  _sender?: { _state?: unknown } | null;
}

const OPCODE_TEXT = 1;
const OPCODE_BINARY = 2;
/** ws's Sender state DEFAULT: nothing being compressed or read from a Blob, so a write cannot interleave. */
const SENDER_IDLE = 0;

/** `raw`: frames written to the TCP socket by this module; `public`: everything through `ws.send`. */
export type WireMode = 'raw' | 'public';

const senderFrame = (wsModule as unknown as { Sender?: { frame?: unknown } }).Sender?.frame;
const frameParts: FrameFunction | null = typeof senderFrame === 'function' ? (senderFrame as FrameFunction) : null;

/** Whether `Sender.frame` still frames as RFC 6455 says: an unmasked text frame "x" is 0x81 0x01 0x78. */
function framingWorks(): boolean {
  if (frameParts === null) return false;
  try {
    const parts = frameParts(Buffer.from('x'), { fin: true, rsv1: false, opcode: OPCODE_TEXT, mask: false, readOnly: true });
    return Array.isArray(parts) && Buffer.concat(parts).equals(Buffer.from([0x81, 0x01, 0x78]));
  } catch {
    return false;
  }
}

/** The checks of the raw path against one freshly opened ws socket and the socket ws was handed. */
export function probeWire(ws: WebSocket, socket: unknown): WireMode {
  const internals = ws as unknown as WsInternals;
  const sender = internals._sender;
  const ok =
    framingWorks() &&
    internals._socket === socket &&
    typeof (socket as Socket | null)?.write === 'function' &&
    typeof sender === 'object' &&
    sender !== null &&
    sender._state === SENDER_IDLE;
  return ok ? 'raw' : 'public';
}

let decided: WireMode | null = null;

/** The mode of this process, decided on the first socket and kept. */
export function wireMode(ws: WebSocket, socket: unknown): WireMode {
  return (decided ??= probeWire(ws, socket));
}

/** The complete wire bytes (header + payload) of one unmasked, uncompressed server frame. */
export function frameForWire(data: string | Uint8Array): Buffer {
  const payload = toBuffer(data);
  const parts = frameParts!(payload, { fin: true, rsv1: false, opcode: typeof data === 'string' ? OPCODE_TEXT : OPCODE_BINARY, mask: false, readOnly: true });
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function toBuffer(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Sends a shared frame on an open socket. `frame.framed` holds, per mode, the framed bytes (raw) or the
 * payload bytes (public); one mode per process, so the slot never mixes them.
 */
export function writeShared(ws: WebSocket, frame: SharedFrame, mode: WireMode): void {
  if (mode === 'raw') {
    const internals = ws as unknown as { _socket: Socket | null; _sender: { _state: number } };
    const socket = internals._socket;
    if (socket !== null && internals._sender._state === SENDER_IDLE) {
      let bytes = frame.framed as Buffer | undefined;
      if (bytes === undefined) frame.framed = bytes = frameForWire(frame.data);
      socket.write(bytes);
      return;
    }
    // Busy Sender: ws queues the frame behind what it is doing.
    ws.send(frame.data);
    return;
  }
  let payload = frame.framed as Buffer | undefined;
  if (payload === undefined) frame.framed = payload = toBuffer(frame.data);
  ws.send(payload, { binary: typeof frame.data !== 'string', compress: false, fin: true });
}
