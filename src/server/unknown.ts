/** Narrowing for values of unknown shape: hook results and thrown things. */

export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/** A thrown value as an Error, for the `error` observer hook. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
