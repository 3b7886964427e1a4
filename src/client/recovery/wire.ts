/**
 * The client's side of Tether's wire extension (docs/recovery.md). It rides in the V2 JSON meta element,
 * which a Phoenix server ignores, so the same client still talks to a real Phoenix app.
 */
import { ExtensionParams } from '../../protocol/extension.ts';
import type { FrameMeta, JsonObject } from '../../protocol/frame.ts';
import { positionOf, type StreamPosition } from './position-tracker.ts';

/** Connect params that opt into the extension; `clientId` scopes push de-duplication across restarts. */
export function recoveryConnectParams(clientId: string | undefined): Record<string, string> {
  const params: Record<string, string> = { [ExtensionParams.optIn]: '1' };
  if (clientId !== undefined) params[ExtensionParams.clientId] = clientId;
  return params;
}

/** Meta of a rejoin that asks the server to replay what came after `position`. */
export function joinMeta(position: StreamPosition | undefined): JsonObject | undefined {
  return position === undefined ? undefined : { since: { o: position.offset, e: position.epoch } };
}

/** Meta of a push that carries its outbox id, so the server can recognise a resend. */
export function pushMeta(id: string): JsonObject {
  return { id };
}

/** The recovery part of a join's outcome, surfaced in the channel's join event context. */
export interface JoinRecoveryContext {
  /** The join sent a position (it was a rejoin of a history-enabled topic). */
  wasRecovering: boolean;
  /** Every missed message was replayed (they follow the join reply, before any live message). */
  recovered: boolean;
  /** Why the server could not recover: the app must resync this channel's state from its own source. */
  reason?: 'epoch_changed' | 'gap_too_large' | 'unavailable';
  /** Where the subscriber now stands; undefined when the topic keeps no history (or the server is Phoenix). */
  position?: StreamPosition;
}

export function parseJoinReplyMeta(meta: FrameMeta | undefined, wasRecovering: boolean): JoinRecoveryContext {
  const context: JoinRecoveryContext = { wasRecovering, recovered: meta?.recovered === true, position: positionOf(meta) };
  const reason = meta?.reason;
  if (meta?.recovered === false && (reason === 'epoch_changed' || reason === 'gap_too_large' || reason === 'unavailable')) {
    context.reason = reason;
  }
  return context;
}
