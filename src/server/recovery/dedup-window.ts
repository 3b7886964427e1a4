/**
 * A bounded memory of recently seen keys: at most `maxEntries`, each forgotten `ttlMs` after it was last
 * touched, least recently touched evicted first. Because every touch renews the TTL and moves the key to
 * the end, the Map's insertion order is also expiry order, so pruning only ever looks at the front.
 */
export interface DedupWindowOptions {
  /** Most keys remembered at once; the least recently touched goes first. */
  maxEntries: number;
  /** A key is forgotten this long after it was last read or written. */
  ttlMs: number;
  /** Milliseconds clock; default `Date.now`. */
  now?: () => number;
}

interface Slot<V> {
  value: V;
  expiresAt: number;
}

export class DedupWindow<V> {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #now: () => number;
  readonly #slots = new Map<string, Slot<V>>();

  constructor(options: DedupWindowOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    if (!(options.ttlMs > 0)) throw new RangeError(`ttlMs must be positive, got ${options.ttlMs}`);
    this.maxEntries = options.maxEntries;
    this.ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** Live keys (expired ones are pruned first). */
  get size(): number {
    this.#prune(this.#now());
    return this.#slots.size;
  }

  /** The value under `key` if it is still remembered; a hit renews it. */
  get(key: string): V | undefined {
    const now = this.#now();
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    this.#slots.delete(key);
    if (slot.expiresAt <= now) {
      this.#prune(now);
      return undefined;
    }
    slot.expiresAt = now + this.ttlMs;
    this.#slots.set(key, slot);
    return slot.value;
  }

  set(key: string, value: V): void {
    const now = this.#now();
    this.#slots.delete(key);
    this.#slots.set(key, { value, expiresAt: now + this.ttlMs });
    this.#prune(now);
  }

  delete(key: string): boolean {
    return this.#slots.delete(key);
  }

  clear(): void {
    this.#slots.clear();
  }

  #prune(now: number): void {
    let excess = this.#slots.size - this.maxEntries;
    for (const [key, slot] of this.#slots) {
      if (excess <= 0 && slot.expiresAt > now) break;
      this.#slots.delete(key);
      excess--;
    }
  }
}
