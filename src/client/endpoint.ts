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

/** Phoenix's auth-token subprotocol: standard base64 of the UTF-8 token, `=` padding removed. */
export function authTokenProtocol(token: string): string {
  const bytes = new TextEncoder().encode(token);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `base64url.bearer.phx.${btoa(binary).replace(/=/g, '')}`;
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
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_');
}
