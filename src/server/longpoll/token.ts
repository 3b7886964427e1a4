/**
 * Long-poll session tokens: `<payload>.<mac>`, both base64url, where the payload names the session and the node
 * that owns it and the mac is HMAC-SHA256 over the payload with `longPollSecret` (random per process when
 * unset). A token proves that some node with the secret issued it; whether the session still lives is the
 * owner's question.
 */
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** What a verified token names. */
export interface SessionRef {
  node: string;
  session: string;
}

/** Longer strings are refused before any hashing: a real token is about 100 characters. */
const MAX_TOKEN_CHARS = 512;
const MAC_BYTES = 32;

export class SessionTokens {
  /** A KeyObject made once: an HMAC from a raw key re-imports the key on every call (about 4x the cost). */
  readonly #key: KeyObject;

  constructor(secret: string | undefined) {
    this.#key = createSecretKey(secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8'));
  }

  /** A new random session id (128 bits, base64url: it never contains the `.` that separates it from the node). */
  static newSessionId(): string {
    return randomBytes(16).toString('base64url');
  }

  sign(ref: SessionRef): string {
    const payload = Buffer.from(`${ref.session}.${ref.node}`, 'utf8').toString('base64url');
    return `${payload}.${this.#mac(payload).toString('base64url')}`;
  }

  /** The session and node a token names, or null when it is not one this secret signed. */
  verify(token: string): SessionRef | null {
    if (token.length > MAX_TOKEN_CHARS) return null;
    const dot = token.indexOf('.');
    if (dot <= 0) return null;
    const payload = token.slice(0, dot);
    const mac = Buffer.from(token.slice(dot + 1), 'base64url');
    if (mac.length !== MAC_BYTES || !timingSafeEqual(mac, this.#mac(payload))) return null;
    const text = Buffer.from(payload, 'base64url').toString('utf8');
    const split = text.indexOf('.');
    if (split <= 0 || split === text.length - 1) return null;
    return { session: text.slice(0, split), node: text.slice(split + 1) };
  }

  #mac(payload: string): Buffer {
    return createHmac('sha256', this.#key).update(payload).digest();
  }
}
