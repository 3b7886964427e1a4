/**
 * A log-bucket latency histogram (HDR-like, ~1% relative precision) that merges across processes: workers
 * ship `toJSON()` over IPC and the runner adds them with `merge`. Values are microseconds.
 */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = 2000; // 1.01^2000 µs ≈ 4e8 s: every latency fits

export interface HistogramSnapshot {
  /** Sparse [bucketIndex, count] pairs. */
  buckets: Array<[number, number]>;
  count: number;
  max: number;
}

export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #max = 0;

  record(micros: number): void {
    const v = micros < 1 ? 1 : micros;
    let i = Math.ceil(Math.log(v) / LOG_GROWTH);
    if (i >= BUCKETS) i = BUCKETS - 1;
    this.#counts[i]++;
    this.#count++;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  get max(): number {
    return this.#max;
  }

  /** The value at or below which `p` percent of the samples lie (bucket upper bound, capped at max). */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(GROWTH ** i, this.#max);
    }
    return this.#max;
  }

  merge(snapshot: HistogramSnapshot): void {
    for (const [i, n] of snapshot.buckets) this.#counts[i] += n;
    this.#count += snapshot.count;
    if (snapshot.max > this.#max) this.#max = snapshot.max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }

  toJSON(): HistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.#counts[i] > 0) buckets.push([i, this.#counts[i]]);
    return { buckets, count: this.#count, max: this.#max };
  }
}

/** Microseconds on the machine-wide monotonic clock, comparable between processes on one host. */
export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
