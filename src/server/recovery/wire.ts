/**
 * The server's side of Tether's wire extension (docs/recovery.md): it rides in the V2 JSON meta element,
 * only for connections that opted in with the connect param `tether=1`, so a stock Phoenix peer sees
 * byte-identical frames.
 */
import type { StreamPosition } from '../../broker/types.ts';
import { ExtensionParams, MAX_EXTENSION_ID_LENGTH as MAX_ID_LENGTH } from '../../protocol/extension.ts';
import { isJsonObject, type FrameMeta, type JsonObject } from '../../protocol/frame.ts';
import type { JoinRecovery } from './replay.ts';


/** True when the connect params opt into the extension (`tether=1`). */
export function optsIn(params: Readonly<Record<string, string>>): boolean {
  return params[ExtensionParams.optIn] === '1';
}

/**
 * The de-duplication scope of a connection: the app's `id(socket)` (if any) joined with the client-chosen
 * id, so one user's client cannot read another user's replies by reusing its client id. Without a client
 * id the scope is the connection itself, which still collapses resends within one connection.
 */
export function dedupScope(socketId: string | null | undefined, params: Readonly<Record<string, string>>, connectionId: string): string {
  const cid = params[ExtensionParams.clientId];
  const client = typeof cid === 'string' && cid.length > 0 && cid.length <= MAX_ID_LENGTH ? cid : `conn:${connectionId}`;
  return `${socketId ?? ''}\u0000${client}`;
}

/** The meta JSON of a message at `position` (`{"o":42,"e":"k3Jx9Aq1"}`), built once per broadcast. */
export function positionMetaJson(position: StreamPosition): string {
  return `{"o":${position.offset},"e":${JSON.stringify(position.epoch)}}`;
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

/** The join reply's meta: the subscriber's starting position and, for a rejoin, whether it was recovered. */
export function joinReplyMeta(recovery: JoinRecovery): JsonObject {
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

/** The outbox id a push carries as meta `{id}`, or undefined; an unusable id is ignored (no de-duplication). */
export function pushId(meta: FrameMeta | undefined): string | undefined {
  const id = meta?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH ? id : undefined;
}
