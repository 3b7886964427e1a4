/** Narrowing for values of unknown shape: hook results and thrown things. */

export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/** A thrown value as an Error, for the `error` observer hook. */
export function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  try {
    return new Error(String(err));
  } catch {
    // A null-prototype object, or one whose toString throws.
    return new Error(`non-Error thrown (${typeof err})`);
  }
}

/** A copy of `source` with no prototype: safe to index with client-chosen keys, `__proto__` included. */
export function nullProtoCopy<T extends object>(source: T | undefined): T {
  return Object.assign(Object.create(null) as T, source);
}
