/**
 * The one latency histogram of `tether bench` and of the benchmark suite (bench/): an HdrHistogram
 * (hdr-histogram-js) at three significant digits, so a percentile is within 0.1% of the exact value over any
 * range, in fixed memory. Values are milliseconds in and out, recorded as whole nanoseconds. A histogram
 * crosses processes as a `LatencySnapshot` (a bench load worker's, merged by the runner).
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

const NS_PER_MS = 1e6;

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

/** A histogram in transit between processes: the HdrHistogram's compressed encoding plus the exact extremes. */
export interface LatencySnapshot {
  hdr: string;
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
}

export class LatencyHistogram {
  readonly #hdr: Histogram = build({ numberOfSignificantValueDigits: 3 });
  // Kept exactly beside the buckets: the summary reports the true min, mean and max.
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  /** The largest sample in ms, or 0 when there is none. */
  get max(): number {
    return this.#max;
  }

  record(ms: number): void {
    const value = ms > 0 ? ms : 0;
    this.#hdr.recordValue(Math.round(value * NS_PER_MS));
    this.#count++;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  /** The value (ms) at or below which `q` (0..1) of the samples fall, to within 0.1%; null when empty. */
  quantile(q: number): number | null {
    if (this.#count === 0) return null;
    const ms = this.#hdr.getValueAtPercentile(q * 100) / NS_PER_MS;
    // A bucket's upper bound can pass the true extremes; they are the better answer there.
    return Math.min(this.#max, Math.max(this.#min, ms));
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

  /** Adds another process's samples (its `toJSON()`). */
  merge(snapshot: LatencySnapshot): void {
    if (snapshot.count === 0) return;
    const other = decodeFromCompressedBase64(snapshot.hdr);
    this.#hdr.add(other);
    other.destroy();
    this.#count += snapshot.count;
    this.#sum += snapshot.sumMs;
    if (snapshot.minMs < this.#min) this.#min = snapshot.minMs;
    if (snapshot.maxMs > this.#max) this.#max = snapshot.maxMs;
  }

  reset(): void {
    this.#hdr.reset();
    this.#count = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = 0;
  }

  toJSON(): LatencySnapshot {
    return { hdr: encodeIntoCompressedBase64(this.#hdr), count: this.#count, sumMs: this.#sum, minMs: this.#count === 0 ? 0 : this.#min, maxMs: this.#max };
  }
}
