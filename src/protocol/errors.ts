/** Why a frame could not be decoded or encoded. Every codec failure is a ProtocolError with one of these. */
export type ProtocolErrorCode =
  | 'not_json'
  | 'wrong_shape'
  | 'wrong_arity'
  | 'wrong_field_type'
  | 'field_too_long'
  | 'unknown_binary_kind'
  | 'truncated_frame'
  | 'binary_unsupported'
  | 'invalid_utf8'
  | 'unsupported_version';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  /** The frame field at fault, when one is (`topic`, `join_ref`, ...). */
  readonly field: string | undefined;

  constructor(code: ProtocolErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}
