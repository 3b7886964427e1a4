/**
 * Phoenix's long-poll wire, pure: the endpoint URL, the session token's place in it, the JSON body every answer
 * carries (`{status, token, messages}`; the HTTP status is 200 and the real one is inside), and the frames in it.
 */
import { base64ToBytes, bytesToBase64 } from './endpoint.ts';

/** `ws://host/socket/websocket?q` -> `http://host/socket/longpoll?q` (relative URLs resolve against `base`). */
export function longPollUrl(socketUrl: string, base?: string): string {
  const url = new URL(socketUrl, base);
  if (url.protocol === 'ws:') url.protocol = 'http:';
  else if (url.protocol === 'wss:') url.protocol = 'https:';
  url.pathname = url.pathname.replace(/\/websocket\/?$/, '/longpoll');
  return url.href;
}

/**
 * The session token goes last in the query: Phoenix 1.7 reads only the `token` parameter, and with a repeated
 * name the last one wins there, so it shadows an app parameter also named `token` on every request after the
 * first (the connect itself, sent without a session token, still carries the app's). Newer servers read the
 * `X-Phoenix-Longpoll-Token` header and leave the query to the app.
 */
export function withSessionToken(url: string, token: string | null): string {
  if (token === null) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

/** One answer's body. `status`: 200 messages, 204 none in the poll window, 410 new or gone session, 403 refused, 500. */
export interface LongPollBody {
  status: number;
  token: string | null;
  messages: string[];
}

/** Parses an answer's body; throws on anything that is not Phoenix's shape (a proxy's error page, a truncation). */
export function parseLongPollBody(text: string): LongPollBody {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('the answer is not a JSON object');
  const { status, token, messages } = value as { status?: unknown; token?: unknown; messages?: unknown };
  if (typeof status !== 'number') throw new Error('the answer has no numeric status');
  if (token !== undefined && token !== null && typeof token !== 'string') throw new Error('the answer\'s token is not a string');
  if (messages !== undefined && !(Array.isArray(messages) && messages.every((m) => typeof m === 'string'))) {
    throw new Error('the answer\'s messages are not a list of strings');
  }
  return { status, token: typeof token === 'string' ? token : null, messages: (messages as string[] | undefined) ?? [] };
}

/** A text frame is JSON (starts with `[`, or `{` on V1); anything else is a binary frame in base64. */
export function decodeMessage(message: string): string | Uint8Array {
  const first = message.charCodeAt(0);
  return first === 0x5b || first === 0x7b ? message : base64ToBytes(message);
}

/** One ndjson line of a POST: text as it is, binary as base64 (neither can contain a newline). */
export function encodeLine(frame: string | Uint8Array): string {
  return typeof frame === 'string' ? frame : bytesToBase64(frame);
}
