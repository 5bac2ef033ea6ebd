/**
 * A token bucket: `ratePerSec` tokens are added per second up to `burst`; each
 * take() spends one. Time is passed in (ms) so tests and callers share one clock.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True when the bucket has refilled completely (it can be forgotten). */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    const elapsedMs = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSec) / 1000);
    this.updatedAt = now;
  }
}

/**
 * One token bucket per key (remote IP for upgrades). Full buckets are forgotten by
 * prune(), so a scan from many addresses cannot grow the map without bound.
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    /** Prune eagerly once this many keys are tracked. @default 10_000 */
    private readonly pruneAbove = 10_000,
  ) {}

  take(key: string, now: number): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.pruneAbove) this.prune(now);
      bucket = new TokenBucket(this.ratePerSec, this.burst, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  prune(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
  }

  size(): number {
    return this.buckets.size;
  }
}
