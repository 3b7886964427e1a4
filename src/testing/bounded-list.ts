/** The kit's recordings (frames, closes, state transitions, recent changes) keep only their newest entries. */

/** Appends `item` and drops the oldest entry once `list` holds more than `limit`; true when one was dropped. */
export function pushBounded<T>(list: T[], item: T, limit: number): boolean {
  list.push(item);
  if (list.length <= limit) return false;
  list.shift();
  return true;
}
