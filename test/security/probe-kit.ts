/**
 * Tools for the hostile-client probes: a server shaped like the demo (the `room:*` contract, a recoverable
 * `feed:*`, and a `probe:*` channel that hands client strings to every keyed structure), a raw TCP WebSocket
 * peer that can write any bytes (lying lengths, unmasked frames, fragments), and the well-behaved client check
 * every probe ends with.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ServerOptions } from '../../src/server/options.ts';
import { probeChannels } from './probe-channel.ts';
import { RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

export const PROBE_MAX_FRAME_BYTES = 64 * 1024;

/** The probe server: the demo room, a recoverable feed, the probe channel; small frames so limits are cheap to hit. */
export async function startProbeServer(options: Partial<ServerOptions> = {}): Promise<Started & { errors: { err: Error; context: string }[] }> {
  const s = await startServer({
    maxFrameBytes: PROBE_MAX_FRAME_BYTES,
    channels: probeChannels(),
    ...options,
  });
  const errors: { err: Error; context: string }[] = [];
  s.server.observe({ error: (err, context) => errors.push({ err, context }) });
  return Object.assign(s, { errors });
}

/** A well-behaved V2 client: connects, joins a room, gets its echo back, heartbeats, leaves. Throws otherwise. */
export async function assertServes(s: Started): Promise<void> {
  const c = await RawClient.connect(s.endpoint({ user: 'well-behaved' }));
  try {
    c.send(['1', '1', 'room:ok', 'phx_join', {}]);
    assert.deepEqual(await c.json(), ['1', '1', 'room:ok', 'phx_reply', { response: { joined: true }, status: 'ok' }]);
    c.send(['1', '2', 'room:ok', 'echo', { n: 42 }]);
    for (;;) {
      const f = (await c.json()) as unknown[];
      if (f[3] === 'phx_reply') {
        assert.deepEqual(f, ['1', '2', 'room:ok', 'phx_reply', { response: { n: 42 }, status: 'ok' }]);
        break;
      }
    }
    c.send([null, '3', 'phoenix', 'heartbeat', {}]);
    for (;;) {
      const f = (await c.json()) as unknown[];
      if (f[1] === '3') break;
    }
  } finally {
    c.close();
  }
}

/** What a raw peer saw: the close code the server sent (null if the socket ended without one) and its frames. */
export interface RawOutcome {
  closeCode: number | null;
  closeReason: string;
  frames: { opcode: number; payload: Buffer }[];
}

/** One client frame; masked unless `mask: false` (a protocol violation a client must not commit). */
export function wsFrame(opcode: number, payload: Buffer | string, options: { fin?: boolean; mask?: boolean; rsv?: number; lengthOverride?: bigint } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const fin = options.fin ?? true;
  const mask = options.mask ?? true;
  const length = options.lengthOverride ?? BigInt(data.length);
  const head: number[] = [(fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65536n) head.push(maskBit | 126, Number(length >> 8n), Number(length & 0xffn));
  else {
    head.push(maskBit | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((length >> BigInt(i * 8)) & 0xffn));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = randomBytes(4);
  const body = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) body[i] = data[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

/**
 * Opens a WebSocket by hand over TCP, writes `frames` (raw bytes after the handshake), and collects what the
 * server answers until it closes the socket, `until` holds, or `waitMs` passes.
 */
export function rawProbe(s: Started, frames: Buffer[], options: { query?: string; waitMs?: number; until?: (o: RawOutcome) => boolean } = {}): Promise<RawOutcome> {
  const waitMs = options.waitMs ?? 1500;
  const query = options.query ?? 'vsn=2.0.0';
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ port: s.port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const outcome: RawOutcome = { closeCode: null, closeReason: '', frames: [] };
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(finish, waitMs);
    sock.on('error', () => undefined);
    sock.on('close', finish);
    sock.on('connect', () => {
      sock.write(
        `GET /socket/websocket?${query} HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = buf.subarray(0, buf.indexOf('\r\n')).toString();
        if (!status.includes(' 101 ')) {
          clearTimeout(timer);
          sock.destroy();
          reject(new Error(`upgrade refused: ${status}`));
          return;
        }
        upgraded = true;
        buf = buf.subarray(end + 4);
        for (const f of frames) sock.write(f);
      }
      // Server frames are unmasked; payloads in probes stay well under 64 KiB.
      while (buf.length >= 2) {
        let len = buf[1] & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          at = 10;
        }
        if (buf.length < at + len) return;
        const opcode = buf[0] & 0x0f;
        const payload = buf.subarray(at, at + len);
        outcome.frames.push({ opcode, payload });
        if (opcode === 8) {
          outcome.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          outcome.closeReason = payload.subarray(2).toString();
          finish();
          return;
        }
        buf = buf.subarray(at + len);
        if (options.until?.(outcome)) {
          finish();
          return;
        }
      }
    });
  });
}

/** The text frames (JSON-parsed) among a raw outcome's frames. */
export function textFrames(outcome: RawOutcome): unknown[] {
  return outcome.frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString()));
}

export { RawClient };
