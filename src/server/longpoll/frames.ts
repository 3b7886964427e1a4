/**
 * A long-poll POST body as frames: `application/x-ndjson` holds one frame per line (`\n` or `\r\n`); a line that
 * starts with `[` is a JSON frame, any other is a V2 binary frame in standard base64 (phoenix.js btoa). Pure.
 */

export type PostFrames =
  | { ok: true; frames: Array<string | Uint8Array> }
  | { ok: false; reason: 'too_many' | 'too_big' | 'bad_base64'; detail: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface FrameBounds {
  maxFrames: number;
  /** Largest frame, in bytes once decoded (maxFrameBytes). */
  maxFrameBytes: number;
}

export function splitPost(body: string, bounds: FrameBounds): PostFrames {
  const lines = body.split(/\r?\n/);
  let count = 0;
  for (const line of lines) if (line !== '') count++;
  if (count > bounds.maxFrames) return { ok: false, reason: 'too_many', detail: `${count} frames in one POST (longPollMaxFramesPerPost ${bounds.maxFrames})` };
  const frames: Array<string | Uint8Array> = [];
  for (const line of lines) {
    if (line === '') continue;
    if (line.startsWith('[')) {
      if (Buffer.byteLength(line) > bounds.maxFrameBytes) return tooBig(bounds);
      frames.push(line);
      continue;
    }
    if (line.length % 4 !== 0 || !BASE64.test(line)) return { ok: false, reason: 'bad_base64', detail: 'a line that is neither a JSON frame nor base64' };
    const decoded = (line.length / 4) * 3 - (line.endsWith('==') ? 2 : line.endsWith('=') ? 1 : 0);
    if (decoded > bounds.maxFrameBytes) return tooBig(bounds);
    frames.push(Buffer.from(line, 'base64'));
  }
  return { ok: true, frames };
}

function tooBig(bounds: FrameBounds): PostFrames {
  return { ok: false, reason: 'too_big', detail: `a frame over maxFrameBytes (${bounds.maxFrameBytes})` };
}
