/**
 * permessage-deflate (RFC 7692): the options, what `ws` is told to negotiate, and the one deflate of a broadcast.
 *
 * Every connection that negotiates the extension gets `server_no_context_takeover`, so each server message
 * inflates on its own. That is what lets a broadcast be compressed once and the same compressed frame be
 * written to every subscriber that negotiated it (ws-wire.ts); with context takeover a frame compressed for
 * one socket's window would corrupt another's. Client messages keep context takeover (the client's choice).
 */
import { constants, deflateRawSync } from 'node:zlib';
import { z } from 'zod';

/** permessage-deflate settings; every default is in COMPRESSION_DEFAULTS (the `@defaultValue` tags are checked against it). */
export interface CompressionOptions {
  /** Messages smaller than this (bytes, uncompressed) are sent uncompressed. @defaultValue `1024` */
  thresholdBytes?: number;
  /** zlib level, 0 (store) to 9 (smallest). @defaultValue `6` (zlib's default) */
  level?: number;
  /** zlib memLevel, 1 to 9: memory of each deflate stream against compression ratio. @defaultValue `8` */
  memLevel?: number;
  /** Per-socket zlib jobs (replies, pushes, client messages) running at once in the process; more wait. @defaultValue `10` */
  concurrency?: number;
}

export type ResolvedCompression = Required<CompressionOptions>;

export const COMPRESSION_DEFAULTS: ResolvedCompression = { thresholdBytes: 1024, level: 6, memLevel: 8, concurrency: 10 };

export const compressionSchema = z.union([
  z.boolean(),
  z.strictObject({
    thresholdBytes: z.number().int().nonnegative().optional(),
    level: z.number().int().min(0).max(9).optional(),
    memLevel: z.number().int().min(1).max(9).optional(),
    concurrency: z.number().int().positive().optional(),
  }),
]);

/** `false` (off) or the options with their defaults filled. */
export function resolveCompression(value: boolean | CompressionOptions | undefined): ResolvedCompression | false {
  if (value === undefined || value === false) return false;
  if (value === true) return { ...COMPRESSION_DEFAULTS };
  const out = { ...COMPRESSION_DEFAULTS };
  for (const key of Object.keys(COMPRESSION_DEFAULTS) as (keyof ResolvedCompression)[]) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

/**
 * What ws negotiates. The inflated size of a client message is capped by ws's `maxPayload` (maxFrameBytes):
 * past it the connection closes with 1009 while inflating, so a zip bomb never grows past the cap.
 */
// The return type is inferred on purpose: naming ws's PerMessageDeflateOptions would put `ws` types into the
// published declarations, which a user without @types/ws could not resolve.
export function wsDeflateOptions(c: ResolvedCompression) {
  return {
    serverNoContextTakeover: true,
    clientNoContextTakeover: false,
    threshold: c.thresholdBytes,
    concurrencyLimit: c.concurrency,
    zlibDeflateOptions: { level: c.level, memLevel: c.memLevel },
  };
}

/** The trailer of a sync flush, which RFC 7692 section 7.2.1 has the sender remove. */
const SYNC_FLUSH_TAIL = 4;

/**
 * One message's compressed payload for a peer with `server_no_context_takeover` and this window: the whole
 * message deflated on its own with a sync flush, minus the trailing 00 00 ff ff (what ws itself sends).
 * Null when compression would not make it smaller.
 */
export function deflateMessage(payload: Buffer, c: ResolvedCompression, windowBits: number): Buffer | null {
  const out = deflateRawSync(payload, { level: c.level, memLevel: c.memLevel, windowBits, finishFlush: constants.Z_SYNC_FLUSH });
  const body = out.subarray(0, out.length - SYNC_FLUSH_TAIL);
  return body.length < payload.length ? body : null;
}
