import { isJsonObject, type JsonObject } from './frame.ts';

/** Names of Tether's opt-in wire extension (docs/recovery.md) that client and server must spell alike. */
export const ExtensionParams = {
  /** Connect param that opts a V2 connection into the extension (`tether=1`). */
  optIn: 'tether',
  /** Connect param naming a stable client id: the push de-duplication scope across reconnects and restarts. */
  clientId: 'tether_cid',
} as const;

/** Longest accepted outbox id and client id. */
export const MAX_EXTENSION_ID_LENGTH = 128;

/**
 * A draining server's advice to an opted-in client on how to come back, carried in the reason of its 1012
 * close: wait `afterMs` (the rest of the drain), then a random delay within `windowMs`, so a fleet returns
 * spread over the window. Stock peers get the plain reason and never see it.
 */
export interface ReconnectHint {
  afterMs: number;
  windowMs: number;
}

/** The close reason stock peers get from a draining server. */
export const DRAIN_CLOSE_REASON = 'server restart';
const HINT_KEY = 'tether-reconnect=';
/** Largest delay a hint may ask for (10 minutes); a larger value is clamped, not trusted. */
export const MAX_HINT_MS = 600_000;

/** `server restart; tether-reconnect=150,2000`: well under the 123 bytes a close reason may take. */
export function drainCloseReason(hint: ReconnectHint): string {
  const clamp = (ms: number) => Math.min(MAX_HINT_MS, Math.max(0, Math.round(ms)));
  return `${DRAIN_CLOSE_REASON}; ${HINT_KEY}${clamp(hint.afterMs)},${clamp(hint.windowMs)}`;
}

/** The hint in a close reason, or null when there is none (any other server, any other code). */
export function parseReconnectHint(reason: string): ReconnectHint | null {
  const at = reason.lastIndexOf(HINT_KEY);
  if (at < 0) return null;
  const m = /^(\d{1,9}),(\d{1,9})$/.exec(reason.slice(at + HINT_KEY.length));
  if (!m) return null;
  return { afterMs: Math.min(MAX_HINT_MS, Number(m[1])), windowMs: Math.min(MAX_HINT_MS, Number(m[2])) };
}

/**
 * The drain notice: a frame `[null, null, "phoenix", "tether_drain", {"afterMs": 150, "windowMs": 2000}]` a
 * draining server writes to opted-in connections just before their 1012 close. A client acts on it at once
 * instead of after the close handshake, which a server busy closing thousands of connections answers late.
 */
export const DRAIN_NOTICE_EVENT = 'tether_drain';

export function drainNoticePayload(hint: ReconnectHint): JsonObject {
  return { afterMs: hint.afterMs, windowMs: hint.windowMs };
}

/** The hint a drain notice carries, clamped like the close reason's, or null when the payload is not one. */
export function parseDrainNotice(payload: unknown): ReconnectHint | null {
  if (!isJsonObject(payload)) return null;
  const { afterMs, windowMs } = payload;
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (!ok(afterMs) || !ok(windowMs)) return null;
  return { afterMs: Math.min(MAX_HINT_MS, afterMs), windowMs: Math.min(MAX_HINT_MS, windowMs) };
}
