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
 * 2026-11-30), and it cannot write a frame compressed ahead of time.
 *
 * Compressed broadcasts (permessage-deflate, compression.ts) take this same path: a second cached framing on
 * the SharedFrame (`deflated`, RSV1 set), deflated once for every recipient, written only to sockets that
 * negotiated `server_no_context_takeover` (read from ws's `_extensions`, a fourth internal; unreadable means
 * "not negotiated") while their Sender is idle. The Sender is busy exactly while ws deflates a reply or push
 * of its own (ws queues everything behind it), so an idle check keeps a raw write from overtaking a queued
 * compressed reply. In public mode, or when the Sender is busy, the frame goes out through `ws.send` of the
 * uncompressed data, which a permessage-deflate peer must accept (RFC 7692 section 6: compression is per message).
 *
 * A rejoin's reply, replayed entries and held live frames (ws-adapter.ts `corked`) take the raw path too when the
 * socket negotiated no compression: framed by `frameAll` into one Buffer, one copy and one write, instead of a
 * header allocation and two chunks per frame through `ws.send` (server CPU per rejoin 50 messages behind: -7 to
 * -25 % in four alternated `node bench/rejoin-burst.ts --missed 50` pairs; 10 behind: no difference measurable).
 * Otherwise such a batch goes through `ws.send` with `_socket` corked around it when that is still a socket
 * (`withCorkedSocket`), and uncorked when it is not.
 */
import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import type { WebSocket } from 'ws';
import { deflateMessage, type ResolvedCompression } from './compression.ts';
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
  _extensions?: Record<string, { params?: Record<string, unknown> } | undefined>;
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

/** The complete wire bytes (header + payload) of one unmasked server frame; `rsv1` marks a compressed payload. */
export function frameForWire(data: string | Uint8Array, payload: Buffer = toBuffer(data), rsv1 = false): Buffer {
  const parts = frameParts!(payload, { fin: true, rsv1, opcode: typeof data === 'string' ? OPCODE_TEXT : OPCODE_BINARY, mask: false, readOnly: true });
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** A socket that takes pre-compressed frames: it negotiated permessage-deflate with server_no_context_takeover. */
export interface DeflatePeer {
  readonly options: ResolvedCompression;
  /** The server's LZ77 window the peer allows (server_max_window_bits), 15 unless it asked for less. */
  readonly windowBits: number;
}

const DEFAULT_WINDOW_BITS = 15;
const MIN_ZLIB_WINDOW_BITS = 9;

/** The socket's compression terms, or null when it takes no pre-compressed frames. */
export function deflatePeer(ws: WebSocket, options: ResolvedCompression | false): DeflatePeer | null {
  if (options === false) return null;
  const params = (ws as unknown as WsInternals)._extensions?.['permessage-deflate']?.params;
  if (params === undefined || params.server_no_context_takeover !== true) return null;
  const bits = typeof params.server_max_window_bits === 'number' ? params.server_max_window_bits : DEFAULT_WINDOW_BITS;
  // zlib raises a raw deflate window of 8 to 9, which such a peer could not inflate: send it plain frames.
  return bits < MIN_ZLIB_WINDOW_BITS ? null : { options, windowBits: bits };
}

/** The compressed framing of a frame for one window size, or null when it is not worth compressing. */
interface Deflated {
  windowBits: number;
  bytes: Buffer | null;
}

/**
 * The frame's compressed wire bytes for this peer, made on first use and kept for the next recipients with
 * the same window (every browser and ws client: 15). Null below the threshold or when deflate does not shrink it.
 */
export function deflatedForWire(frame: SharedFrame, peer: DeflatePeer): Buffer | null {
  if (frame.byteLength < peer.options.thresholdBytes) return null;
  let cached = frame.deflated as Deflated | undefined;
  if (cached === undefined || cached.windowBits !== peer.windowBits) {
    const body = deflateMessage(toBuffer(frame.data), peer.options, peer.windowBits);
    frame.deflated = cached = { windowBits: peer.windowBits, bytes: body === null ? null : frameForWire(frame.data, body, true) };
  }
  return cached.bytes;
}

function toBuffer(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A socket's second and later shared frames of one tick are corked and leave together when the tick ends. The
 * first is written at once, so the common case (one broadcast per tick reaching each socket: the fan-out bench)
 * is unchanged: corking every frame was tried and cost p99 there (docs/server.md). Where a socket gets several
 * frames in a tick (a task hub's coalescer sending many tasks' progress at once, an HTTP body of many events),
 * they take two system calls instead of one each: on loopback and for small frames the call, not the bytes, is
 * most of a fan-out's cost. Corked bytes count in `bufferedAmount`, so the outbound caps see them; past
 * MAX_CORKED_BYTES a socket's batch is written at once, so a burst never looks like a slow consumer only
 * because it was held back.
 */
const MAX_CORKED_BYTES = 64 * 1024;
const WRITTEN_IN = Symbol('tether.writtenInTick');
const CORKED_IN = Symbol('tether.corkedInTick');
type Batching = Socket & { [WRITTEN_IN]?: number; [CORKED_IN]?: number };
let tick = 0;
let tickOpen = false;
const corked: Socket[] = [];

function endTick(): void {
  tickOpen = false;
  tick++;
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

function batched(socket: Batching): Socket {
  if (!tickOpen) {
    tickOpen = true;
    process.nextTick(endTick);
  }
  if (socket[WRITTEN_IN] !== tick) {
    socket[WRITTEN_IN] = tick;
    return socket;
  }
  if (socket[CORKED_IN] !== tick) {
    socket[CORKED_IN] = tick;
    socket.cork();
    corked.push(socket);
  } else if (socket.writableLength >= MAX_CORKED_BYTES) {
    // Write what is held now and keep batching: the cork count stays one, for endTick's uncork.
    socket.uncork();
    socket.cork();
  }
  return socket;
}

/**
 * Sends a shared frame on an open socket. `frame.framed` holds, per mode, the framed bytes (raw) or the
 * payload bytes (public); one mode per process, so the slot never mixes them. `peer` (raw mode only) gets the
 * compressed framing when the frame is worth compressing.
 */
export function writeShared(ws: WebSocket, frame: SharedFrame, mode: WireMode, peer: DeflatePeer | null = null): void {
  if (mode === 'raw') {
    const internals = ws as unknown as { _socket: Socket | null; _sender: { _state: number } };
    const socket = internals._socket;
    if (socket !== null && internals._sender._state === SENDER_IDLE) {
      const compressed = peer === null ? null : deflatedForWire(frame, peer);
      if (compressed !== null) {
        batched(socket).write(compressed);
        return;
      }
      let bytes = frame.framed as Buffer | undefined;
      if (bytes === undefined) frame.framed = bytes = frameForWire(frame.data);
      batched(socket).write(bytes);
      return;
    }
    // Busy Sender (deflating a reply, or reading a Blob): ws queues the frame behind what it is doing.
    ws.send(frame.data, { compress: false });
    return;
  }
  let payload = frame.framed as Buffer | undefined;
  if (payload === undefined) frame.framed = payload = toBuffer(frame.data);
  ws.send(payload, { binary: typeof frame.data !== 'string', compress: false, fin: true });
}

/** The bytes writeShared would queue for this socket: the compressed framing's length when it would use it. */
export function sharedWireBytes(frame: SharedFrame, mode: WireMode, peer: DeflatePeer | null): number {
  if (mode !== 'raw' || peer === null) return frame.byteLength;
  return deflatedForWire(frame, peer)?.length ?? frame.byteLength;
}

/**
 * Whether `writeFrames` can write to this socket now: raw mode, a Sender with nothing queued, and no
 * permessage-deflate negotiated (ws would compress a reply of its own above its threshold; these are written plain).
 */
export function framesWritable(ws: WebSocket, mode: WireMode): boolean {
  if (mode !== 'raw') return false;
  const internals = ws as unknown as WsInternals;
  return internals._socket != null && internals._sender?._state === SENDER_IDLE && internals._extensions?.['permessage-deflate'] === undefined;
}

/**
 * Runs `write` (frames sent through `ws.send`) with the socket's TCP socket corked, so they leave in one write.
 * Without a usable `_socket` (a `ws` that changed it: public mode) it just runs `write`, one write per frame.
 */
export function withCorkedSocket(ws: WebSocket, write: () => void): void {
  const socket = (ws as unknown as WsInternals)._socket as Partial<Socket> | null | undefined;
  if (typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function') return write();
  socket.cork();
  try {
    write();
  } finally {
    socket.uncork();
  }
}

/**
 * Frames several messages (unmasked, final, uncompressed; text for strings, binary for bytes) into one Buffer
 * and writes it to the socket: a join reply and its replay as one copy and one write, not a header allocation
 * and two chunks per frame through `ws.send`. Only after `framesWritable` said yes in the same turn.
 */
export function writeFrames(ws: WebSocket, items: readonly (string | Uint8Array)[]): void {
  (ws as unknown as { _socket: Socket })._socket.write(frameAll(items));
}

/** RFC 6455 section 5.2 framing of unmasked final frames, back to back (exported for the test against ws's own framing). */
export function frameAll(items: readonly (string | Uint8Array)[]): Buffer {
  const lengths = new Array<number>(items.length);
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const n = typeof item === 'string' ? Buffer.byteLength(item) : item.byteLength;
    lengths[i] = n;
    total += headerLength(n) + n;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const n = lengths[i];
    out[at] = 0x80 | (typeof item === 'string' ? OPCODE_TEXT : OPCODE_BINARY);
    if (n < 126) {
      out[at + 1] = n;
      at += 2;
    } else if (n < 65536) {
      out[at + 1] = 126;
      out.writeUInt16BE(n, at + 2);
      at += 4;
    } else {
      out[at + 1] = 127;
      out.writeUInt32BE(Math.floor(n / 2 ** 32), at + 2);
      out.writeUInt32BE(n >>> 0, at + 6);
      at += 10;
    }
    if (typeof item === 'string') at += out.write(item, at, 'utf8');
    else {
      out.set(item, at);
      at += n;
    }
  }
  return out;
}

function headerLength(payloadBytes: number): number {
  return payloadBytes < 126 ? 2 : payloadBytes < 65536 ? 4 : 10;
}
