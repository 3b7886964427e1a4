/** Picks the wire format for a connection from its `vsn` parameter and binds codecs to one side of the link. */
import { decodeBinary, encodeBinary } from './codec-binary.ts';
import { decodeV1Json, decodeV2Json, encodeV1Json, encodeV2Json } from './codec-json.ts';
import { ProtocolError } from './errors.ts';
import { carriesBinary, type Direction, type Frame } from './frame.ts';

export type ProtocolVersion = 1 | 2;
export type Side = 'server' | 'client';

/** Phoenix's default when a client sends no `vsn`. */
export const DEFAULT_VSN = '1.0.0';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * Phoenix matches `vsn` with `~> 1.0.0` (V1) and `~> 2.0.0` (V2): same major and minor, any patch.
 * Returns null for any other or unparsable version, which a server answers with HTTP 403.
 */
export function negotiateVersion(vsn: string | null | undefined): ProtocolVersion | null {
  const m = SEMVER.exec(vsn ?? DEFAULT_VSN);
  if (!m || m[2] !== '0') return null;
  if (m[1] === '1') return 1;
  if (m[1] === '2') return 2;
  return null;
}

export interface Serializer {
  readonly version: ProtocolVersion;
  /** Text for JSON frames, bytes for V2 binary frames (payloads that are Uint8Array). */
  encode(frame: Frame): string | Uint8Array;
  /** Throws ProtocolError naming what is wrong; never an untyped error. */
  decode(data: string | Uint8Array): Frame;
}

export function createSerializer(version: ProtocolVersion, side: Side): Serializer {
  const outgoing: Direction = side === 'server' ? 'server->client' : 'client->server';
  const incoming: Direction = side === 'server' ? 'client->server' : 'server->client';
  if (version === 2) {
    return {
      version,
      encode: (frame) => (carriesBinary(frame) ? encodeBinary(frame, outgoing) : encodeV2Json(frame)),
      decode: (data) => (typeof data === 'string' ? decodeV2Json(data) : decodeBinary(data, incoming)),
    };
  }
  return {
    version,
    encode: (frame) => {
      if (carriesBinary(frame)) throw new ProtocolError('binary_unsupported', 'V1 (vsn 1.0.0) cannot carry binary payloads; connect with vsn=2.0.0');
      return encodeV1Json(frame, outgoing);
    },
    decode: (data) => {
      if (typeof data !== 'string') throw new ProtocolError('binary_unsupported', 'V1 (vsn 1.0.0) has no binary frames; connect with vsn=2.0.0');
      return decodeV1Json(data);
    },
  };
}
