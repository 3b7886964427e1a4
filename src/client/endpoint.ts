/** Builds the WebSocket URL and subprotocols of one connection attempt, exactly as phoenix.js does. */

export type QueryParams = Record<string, unknown>;

/** `ws://host/socket` -> `ws://host/socket/websocket?{params}&vsn=2.0.0` (params first, vsn last). */
export function endpointUrl(endpoint: string, params: QueryParams, vsn: string): string {
  const base = /\/websocket\/?$/.test(endpoint) ? endpoint.replace(/\/$/, '') : `${endpoint.replace(/\/$/, '')}/websocket`;
  const query = serializeParams(params);
  const sep = base.includes('?') ? '&' : '?';
  return `${base}${sep}${query ? `${query}&` : ''}vsn=${encodeURIComponent(vsn)}`;
}

/** phoenix.js's `Ajax.serialize`: URI-encoded values, nested objects written as `a[b]=c`. */
export function serializeParams(params: QueryParams, prefix?: string): string {
  const parts: string[] = [];
  for (const key of Object.keys(params)) {
    const value = params[key];
    if (value === undefined) continue;
    const name = prefix ? `${prefix}[${key}]` : key;
    if (value !== null && typeof value === 'object') parts.push(serializeParams(value as QueryParams, name));
    else parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  }
  return parts.filter(Boolean).join('&');
}

const AUTH_TOKEN_PREFIX = 'base64url.bearer.phx.';

/** Phoenix's auth-token subprotocol: standard base64 of the UTF-8 token, `=` padding removed. */
export function authTokenProtocol(token: string): string {
  return `${AUTH_TOKEN_PREFIX}${bytesToBase64(new TextEncoder().encode(token)).replace(/=/g, '')}`;
}

/** The token `authTokenProtocol` put in the subprotocols (for transports that send it another way), or null. */
export function authTokenFromProtocols(protocols: readonly string[]): string | null {
  const entry = protocols.find((p) => p.startsWith(AUTH_TOKEN_PREFIX));
  if (entry === undefined) return null;
  return new TextDecoder().decode(base64ToBytes(entry.slice(AUTH_TOKEN_PREFIX.length)));
}

/** Standard base64 (padding optional) to bytes; throws on other characters. */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Bytes to standard base64, in chunks so a large frame does not overflow the argument list. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Exact UTF-8 length of a string as a WebSocket sends it (a lone surrogate as U+FFFD), without encoding it; a
 * native scan first, as most frames are ASCII (cost against encoding: bench/utf8-length.ts).
 */
export function utf8Length(text: string): number {
  let n = text.length;
  const first = text.search(NON_ASCII);
  if (first < 0) return n;
  for (let i = first; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    // A high surrogate counts as a pair only when a low one follows; alone it is sent as U+FFFD (3 bytes).
    else if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++, (n += 2);
    else n += 2;
  }
  return n;
}

/** A session-unique prefix for message ids: 12 url-safe characters from the platform's CSPRNG. */
export function randomIdPrefix(): string {
  return bytesToBase64(crypto.getRandomValues(new Uint8Array(9))).replace(/\+/g, '-').replace(/\//g, '_');
}
