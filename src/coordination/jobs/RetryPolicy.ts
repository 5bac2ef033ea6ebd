import { isPermanent, JobError } from './errors.js';

export interface RetryDecision {
  readonly retry: boolean;
  readonly delayMs: number;
}

/**
 * One retry policy for every adapter and every way an attempt can end (error,
 * timeout, crashed thread, dead worker): permanent errors fail at once; others
 * retry with exponential backoff and jitter, capped, up to `maxRetries`.
 */
export class RetryPolicy {
  constructor(
    readonly maxRetries: number,
    readonly baseMs: number,
    readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  get maxAttempts(): number {
    return this.maxRetries + 1;
  }

  /** Delay before attempt `attempt + 1`. Equal jitter: half fixed, half random, so retries of many jobs spread out. */
  delayMs(attempt: number, err?: unknown): number {
    const retryAfter = err instanceof JobError ? err.retryAfterMs : undefined;
    if (retryAfter !== undefined) return Math.min(this.maxMs, Math.max(0, retryAfter));
    const exp = Math.min(this.maxMs, this.baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(exp / 2 + (this.random() * exp) / 2);
  }

  /** After attempt `attempt` (1-based) failed with `err`. */
  decide(attempt: number, err: unknown): RetryDecision {
    if (isPermanent(err) || attempt >= this.maxAttempts) return { retry: false, delayMs: 0 };
    return { retry: true, delayMs: this.delayMs(attempt, err) };
  }
}
