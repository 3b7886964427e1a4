/**
 * A fixed-memory latency histogram: logarithmic buckets 1% wide from 1 µs to about 100 s, so percentiles of
 * millions of samples are within 1% and recording is one Math.log and one array increment.
 */

const GROWTH = Math.log(1.01);
const BUCKETS = Math.ceil(Math.log(1e8) / GROWTH) + 1;

export interface LatencySummary {
  count: number;
  /** All in milliseconds; null when there are no samples. */
  min: number | null;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export class LatencyHistogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    const micros = ms * 1000;
    const index = micros <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(micros) / GROWTH));
    this.#counts[index]++;
    this.#count++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** The value (ms) at or below which `q` (0..1) of the samples fall, to within the bucket width. */
  quantile(q: number): number | null {
    if (this.#count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      // The last bucket also holds everything beyond its range: the true max is its best answer.
      if (seen >= rank) return i === BUCKETS - 1 ? this.#max : Math.min(this.#max, Math.max(this.#min, Math.exp(i * GROWTH) / 1000));
    }
    return this.#max;
  }

  summary(): LatencySummary {
    const empty = this.#count === 0;
    return {
      count: this.#count,
      min: empty ? null : this.#min,
      mean: empty ? null : this.#sum / this.#count,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      max: empty ? null : this.#max,
    };
  }
}
