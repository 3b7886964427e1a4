/** A bound option: `fallback` when absent; a TypeError naming `owner` and the option when not a positive integer. */
export function positiveInteger(owner: string, name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${owner}: ${name} must be a positive integer, got ${value}`);
  return value;
}
