/**
 * Shared-secret checks for HTTP endpoints and connect hooks: the bearer token of a request and a comparison
 * that takes the same time whatever the guess. Both sides are hashed first, so neither the content nor the
 * length of the expected token shows in the timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** The token of an `Authorization: Bearer <token>` header, or undefined when the request has none. */
export function bearerOf(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

/** Whether `given` is exactly `expected`, compared in constant time; anything but a string never matches. */
export function tokenMatches(expected: string, given: unknown): boolean {
  return typeof given === 'string' && timingSafeEqual(digest(expected), digest(given));
}
