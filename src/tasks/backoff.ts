/** Exponential backoff bounds, ms: `minMs` doubling per attempt up to `maxMs`. */
export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 = the first retry): `minMs · 2^attempt`,
 * capped at `maxMs`. With `random` (a source in [0, 1)) the delay is jittered to
 * 50–100 % of that, so instances that failed together do not retry together.
 */
export function backoffMs(attempt: number, { minMs, maxMs }: Backoff, random?: () => number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return random ? Math.round(base * (0.5 + random() / 2)) : base;
}

/** One keyed retry: what to run, and what to do when it fails or runs out of time. */
export interface RetryJob {
  /** Resolves true when done; false or a rejection means "try again later". */
  readonly attempt: () => Promise<boolean>;
  /** Told each failure (a rejection's reason, or undefined for false) and the wait before the next try. */
  readonly onRetry?: (err: unknown, delayMs: number) => void;
  /** Stop trying at this epoch ms (checked after each try); `onGiveUp` is told. @default never */
  readonly deadline?: number;
  readonly onGiveUp?: () => void;
}

interface Entry {
  readonly job: RetryJob;
  timer: NodeJS.Timeout | null;
  /** Failed tries so far; sets the next delay. */
  failures: number;
}

/**
 * Retries keyed jobs with exponential backoff until each reports done, passes its
 * deadline, is cancelled, or the loop is closed — the one retry loop of the task
 * manager (registry removals, re-registration after a reconnect) and of the stop
 * courier. A job never runs twice at once: scheduling a key that is pending
 * replaces it, so a fresh trigger (a reconnect) restarts the backoff.
 */
export class RetryLoop {
  private readonly pending = new Map<string, Entry>();
  private closed = false;

  constructor(
    private readonly backoff: Backoff,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Runs the job after `minMs` (the caller's own first try just failed) or, with
   * `immediately`, now; then retries it with doubling delays until it is done.
   */
  schedule(key: string, job: RetryJob, immediately = false): void {
    if (this.closed) return;
    this.cancel(key);
    const entry: Entry = { job, timer: null, failures: immediately ? 0 : 1 };
    this.pending.set(key, entry);
    if (immediately) void this.run(key, entry);
    else this.arm(key, entry, this.backoff.minMs);
  }

  has(key: string): boolean {
    return this.pending.has(key);
  }

  get size(): number {
    return this.pending.size;
  }

  cancel(key: string): void {
    const entry = this.pending.get(key);
    if (entry?.timer) clearTimeout(entry.timer);
    this.pending.delete(key);
  }

  /** Shutdown: one last try of every pending job (outcome ignored), then nothing more runs. */
  async drain(): Promise<void> {
    const jobs = [...this.pending.values()].map((e) => e.job);
    this.close();
    await Promise.all(jobs.map((job) => job.attempt().catch(() => false)));
  }

  close(): void {
    this.closed = true;
    for (const key of [...this.pending.keys()]) this.cancel(key);
  }

  private arm(key: string, entry: Entry, delayMs: number): void {
    entry.timer = setTimeout(() => void this.run(key, entry), delayMs);
    entry.timer.unref(); // a pending retry never keeps the process alive
  }

  private async run(key: string, entry: Entry): Promise<void> {
    entry.timer = null;
    let done = false;
    let failure: unknown;
    try {
      done = await entry.job.attempt();
    } catch (err) {
      failure = err;
    }
    if (this.pending.get(key) !== entry) return; // cancelled or replaced meanwhile
    if (done) {
      this.pending.delete(key);
      return;
    }
    if (entry.job.deadline !== undefined && this.now() >= entry.job.deadline) {
      this.pending.delete(key);
      entry.job.onGiveUp?.();
      return;
    }
    const delayMs = backoffMs(entry.failures, this.backoff);
    entry.failures += 1;
    entry.job.onRetry?.(failure, delayMs);
    this.arm(key, entry, delayMs);
  }
}
