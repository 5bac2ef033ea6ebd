/**
 * A latency histogram that merges across processes: hundreds of thousands of samples per
 * phase are too many to ship over IPC, and percentiles of percentiles are wrong.
 * 0.1 ms buckets up to 1 s (the range the verdicts are about), 10 ms buckets up to 60 s.
 */
const FINE_MS = 0.1;
const FINE_LIMIT_MS = 1_000;
const COARSE_MS = 10;
const MAX_MS = 60_000;
const FINE_BUCKETS = FINE_LIMIT_MS / FINE_MS;
const BUCKETS = FINE_BUCKETS + (MAX_MS - FINE_LIMIT_MS) / COARSE_MS + 1;

/** Sparse form for IPC: [bucket, count] pairs. */
export type HistogramData = Array<[number, number]>;

export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private total = 0;

  get count(): number {
    return this.total;
  }

  record(ms: number): void {
    const v = Math.max(0, ms);
    const i = v < FINE_LIMIT_MS ? Math.floor(v / FINE_MS) : Math.min(BUCKETS - 1, FINE_BUCKETS + Math.floor((v - FINE_LIMIT_MS) / COARSE_MS));
    this.counts[i]++;
    this.total++;
  }

  /** The upper edge of the bucket holding the p-th percentile, in ms; NaN when empty. */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i < FINE_BUCKETS ? (i + 1) * FINE_MS : FINE_LIMIT_MS + (i - FINE_BUCKETS + 1) * COARSE_MS;
    }
    return MAX_MS;
  }

  toData(): HistogramData {
    const out: HistogramData = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) out.push([i, this.counts[i]!]);
    return out;
  }

  add(data: HistogramData): this {
    for (const [i, n] of data) {
      this.counts[i] += n;
      this.total += n;
    }
    return this;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}
