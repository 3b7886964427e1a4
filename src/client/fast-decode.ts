/**
 * The client's hot path: V2 text frames as our server and Phoenix (Jason) write them - no whitespace, refs and
 * names without escapes - are split by hand and only the payload (plus optional meta) goes through
 * JSON.parse. Anything else returns null and takes the full protocol codec, which also names what is wrong.
 */
import { isJsonObject, type Frame, type FrameMeta } from '../protocol/index.ts';

const QUOTE = 34;
const COMMA = 44;
const CLOSE = 125;
const N = 110;
const U = 117;
const L = 108;

export function decodeV2TextFast(s: string): Frame | null {
  if (s.charCodeAt(0) !== 91) return null;
  let at = 1;
  let joinRef: string | null = null;
  let ref: string | null = null;
  let topic = '';
  let event = '';
  for (let field = 0; field < 4; field++) {
    let value: string | null;
    if (s.charCodeAt(at) === N) {
      if (field > 1 || s.charCodeAt(at + 1) !== U || s.charCodeAt(at + 2) !== L || s.charCodeAt(at + 3) !== L || s.charCodeAt(at + 4) !== COMMA) return null;
      value = null;
      at += 5;
    } else {
      if (s.charCodeAt(at) !== QUOTE) return null;
      const end = s.indexOf('"', at + 1);
      if (end < 0 || s.charCodeAt(end + 1) !== COMMA) return null;
      value = s.slice(at + 1, end);
      if (value.indexOf('\\') >= 0) return null;
      at = end + 2;
    }
    if (field === 0) joinRef = value;
    else if (field === 1) ref = value;
    else if (field === 2) topic = value as string;
    else event = value as string;
  }
  const last = s.length - 1;
  if (s.charCodeAt(last) !== 93) return null;
  // A sixth meta element is a flat object: if the last "{" follows "}," the frame may end with one. Only a
  // split at the real boundary leaves two valid JSON texts; any other parse failure takes the slow path.
  const brace = s.lastIndexOf('{');
  const split = brace > at && s.charCodeAt(brace - 1) === COMMA && s.charCodeAt(brace - 2) === CLOSE ? brace - 1 : last;
  let payload: unknown;
  let meta: unknown;
  try {
    payload = JSON.parse(s.slice(at, split));
    if (split !== last) meta = JSON.parse(s.slice(split + 1, last));
  } catch {
    return null;
  }
  if (!isJsonObject(payload)) return null;
  const frame: Frame = { joinRef, ref, topic, event, payload };
  if (meta !== undefined && isJsonObject(meta)) frame.meta = meta as FrameMeta;
  return frame;
}
