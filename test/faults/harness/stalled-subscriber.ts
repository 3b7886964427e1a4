/**
 * A WebSocket subscriber that joins a topic and then stops reading at the TCP level, so the server's
 * outbound buffer for it grows exactly as for a stalled phone or a frozen tab. Hand-rolled over `net` so
 * nothing reads on its behalf; `resume()` drains what arrived and returns the close code the server sent.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length >= 126) throw new RangeError('keep control frames of the stalled subscriber short');
  const mask = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ mask[i % 4];
  return out;
}

/** Reads server frames from `buf`; returns the close code once a close frame is complete, else null. */
function closeCode(buf: Buffer): number | null {
  let at = 0;
  while (at + 2 <= buf.length) {
    const opcode = buf[at] & 0x0f;
    let len = buf[at + 1] & 0x7f;
    let head = 2;
    if (len === 126) {
      if (at + 4 > buf.length) return null;
      len = buf.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (at + 10 > buf.length) return null;
      len = Number(buf.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (at + head + len > buf.length) return null;
    if (opcode === 0x8) return len >= 2 ? buf.readUInt16BE(at + head) : 1005;
    at += head + len;
  }
  return null;
}

export class StalledSubscriber {
  readonly #socket: Socket;
  #received: Buffer[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  static async join(port: number, topic: string): Promise<StalledSubscriber> {
    const socket = connect(port, '127.0.0.1');
    const sub = new StalledSubscriber(socket);
    socket.on('data', (d: Buffer) => sub.#received.push(d));
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      `GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await sub.#until((text) => text.includes('\r\n\r\n'), 'the 101 response');
    socket.write(maskedText(JSON.stringify(['1', '1', topic, 'phx_join', {}])));
    await sub.#until((text) => text.includes('phx_reply'), 'the join reply');
    socket.pause();
    sub.#received = [];
    return sub;
  }

  /** Reads again and resolves with the close code of the server's close frame (null if none within `ms`). */
  async resume(ms: number): Promise<number | null> {
    this.#socket.resume();
    const deadline = Date.now() + ms;
    let buf = Buffer.alloc(0);
    while (Date.now() < deadline) {
      buf = Buffer.concat([buf, ...this.#received.splice(0)]);
      const code = closeCode(buf);
      if (code !== null) return code;
      await new Promise((r) => setTimeout(r, 20));
    }
    return null;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  async #until(check: (text: string) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!check(Buffer.concat(this.#received).toString('latin1'))) {
      if (Date.now() > deadline) throw new Error(`stalled subscriber: no ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
