/**
 * Tether's opt-in wire extension (docs/recovery.md), the codec both sides share: stream positions, the rejoin
 * position (`since`), the join reply's recovery meta, push ids and the opt-in connect params. It rides in the
 * V2 JSON meta element, only on connections that opted in with `tether=1`, so a stock Phoenix peer sees
 * byte-identical frames and a Phoenix server ignores what our client adds. Pure: no I/O, no timers.
 */
import { encodeV2JsonRaw } from './codec-json.ts';
import { isJsonObject, type FrameMeta, type JsonObject } from './frame.ts';

/** A position in a topic's history stream. The epoch changes whenever the history is lost. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** Why a rejoin could not be recovered; `recovered: false` always carries one. */
const LOST_REASONS = ['epoch_changed', 'gap_too_large', 'unavailable'] as const;
export type RecoveryLostReason = (typeof LOST_REASONS)[number];
const isLostReason = (value: unknown): value is RecoveryLostReason => (LOST_REASONS as readonly unknown[]).includes(value);

/** True when the connect params opt into the extension (`tether=1`). */
export function optsIn(params: Readonly<Record<string, string>>): boolean {
  return params[ExtensionParams.optIn] === '1';
}

/**
 * Connect params that opt into the extension; `clientId` scopes push de-duplication across restarts, and
 * `canMove` says the client has another endpoint to move to on a drain notice (`tether_move=1`).
 */
export function recoveryConnectParams(clientId: string | undefined, canMove = false): Record<string, string> {
  const params: Record<string, string> = { [ExtensionParams.optIn]: '1' };
  if (clientId !== undefined) params[ExtensionParams.clientId] = clientId;
  if (canMove) params[ExtensionParams.canMove] = '1';
  return params;
}

/**
 * True when an opted-in client said it has another endpoint: on a drain notice it opens its link there while
 * this server still serves it, and leaves when that link is up, so a drain gives it `drainHandoverMs` before
 * its 1012.
 */
export function canMove(params: Readonly<Record<string, string>>): boolean {
  return optsIn(params) && params[ExtensionParams.canMove] === '1';
}

/** The client id the connect params name, or undefined when absent or unusable. */
export function extensionClientId(params: Readonly<Record<string, string>>): string | undefined {
  const cid = params[ExtensionParams.clientId];
  return typeof cid === 'string' && cid.length > 0 && cid.length <= MAX_EXTENSION_ID_LENGTH ? cid : undefined;
}

/** The meta JSON of a message at `position` (`{"o":42,"e":"k3Jx9Aq1"}`). */
export function positionMetaJson(position: StreamPosition): string {
  return `{"o":${position.offset},"e":${JSON.stringify(position.epoch)}}`;
}

/** A broadcast with its stream position: `[null,null,topic,event,payload,{"o":…,"e":…}]`, payload pre-encoded. */
export function encodePositionedBroadcast(topic: string, event: string, payloadJson: string, position: StreamPosition): string {
  return encodeV2JsonRaw(null, null, topic, event, payloadJson, positionMetaJson(position));
}

/** The position a message's meta carries (`{o, e}`), or undefined for an unpositioned message. */
export function positionOf(meta: FrameMeta | undefined): StreamPosition | undefined {
  if (meta === undefined) return undefined;
  const { o, e } = meta;
  return typeof o === 'number' && typeof e === 'string' ? { epoch: e, offset: o } : undefined;
}

/** Meta of a rejoin that asks the server to replay what came after `position`. */
export function joinMeta(position: StreamPosition | undefined): JsonObject | undefined {
  return position === undefined ? undefined : { since: { o: position.offset, e: position.epoch } };
}

export type SinceParse = { ok: true; since: StreamPosition | undefined } | { ok: false; reason: string };

/** Reads the rejoin position a join carries as meta `{since: {o, e}}`; absent is a first join. */
export function parseSince(meta: FrameMeta | undefined): SinceParse {
  const since = meta?.since;
  if (since === undefined || since === null) return { ok: true, since: undefined };
  if (
    isJsonObject(since) &&
    typeof since.e === 'string' &&
    typeof since.o === 'number' &&
    Number.isSafeInteger(since.o) &&
    since.o >= 0
  ) {
    return { ok: true, since: { epoch: since.e, offset: since.o } };
  }
  return { ok: false, reason: 'invalid recovery position: meta.since must be {o: integer >= 0, e: string}' };
}

/** How a join's recovery came out on the server: what its reply meta reports. */
export type JoinRecoveryOutcome =
  | { kind: 'fresh'; position: StreamPosition }
  | { kind: 'recovered'; position: StreamPosition }
  | { kind: 'lost'; reason: RecoveryLostReason; position: StreamPosition };

/** The join reply's meta: the subscriber's starting position and, for a rejoin, whether it was recovered. */
export function joinReplyMeta(recovery: JoinRecoveryOutcome): JsonObject {
  const meta: JsonObject = {};
  if (recovery.kind === 'recovered') meta.recovered = true;
  else if (recovery.kind === 'lost') {
    meta.recovered = false;
    meta.reason = recovery.reason;
  }
  if (recovery.position.epoch !== '') {
    meta.o = recovery.position.offset;
    meta.e = recovery.position.epoch;
  }
  return meta;
}

/** The recovery part of a join's outcome, surfaced in the client channel's join event context. */
export interface JoinRecoveryContext {
  /** The join sent a position (it was a rejoin of a history-enabled topic). */
  wasRecovering: boolean;
  /** Every missed message was replayed (they follow the join reply, before any live message). */
  recovered: boolean;
  /** Why the server could not recover: the app must resync this channel's state from its own source. */
  reason?: RecoveryLostReason;
  /** Where the subscriber now stands; undefined when the topic keeps no history (or the server is Phoenix). */
  position?: StreamPosition;
}

/** Reads a join reply's meta into the client's context (`wasRecovering`: the join sent a position). */
export function parseJoinReplyMeta(meta: FrameMeta | undefined, wasRecovering: boolean): JoinRecoveryContext {
  const context: JoinRecoveryContext = { wasRecovering, recovered: meta?.recovered === true, position: positionOf(meta) };
  const reason = meta?.reason;
  if (meta?.recovered === false && isLostReason(reason)) {
    context.reason = reason;
  }
  return context;
}

/** Meta of a push that carries its outbox id, so the server can recognise a resend. */
export function pushMeta(id: string): JsonObject {
  return { id };
}

/** The outbox id a push carries as meta `{id}`, or undefined; an unusable id is ignored (no de-duplication). */
export function pushId(meta: FrameMeta | undefined): string | undefined {
  const id = meta?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_EXTENSION_ID_LENGTH ? id : undefined;
}

/** Names of Tether's opt-in wire extension (docs/recovery.md) that client and server must spell alike. */
export const ExtensionParams = {
  /** Connect param that opts a V2 connection into the extension (`tether=1`). */
  optIn: 'tether',
  /** Connect param naming a stable client id: the push de-duplication scope across reconnects and restarts. */
  clientId: 'tether_cid',
  /** Connect param of a client with another endpoint to move to on a drain notice (`tether_move=1`). */
  canMove: 'tether_move',
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
