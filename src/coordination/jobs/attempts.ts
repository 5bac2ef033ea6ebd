import { ErrorCode } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { describeJobError, JobCanceledError, PermanentJobError } from './errors.js';
import type { JobContext, JobOutcome, JobProcessor, OutcomeListener } from './JobQueue.js';
import type { RetryPolicy } from './RetryPolicy.js';
import { runAttempt } from './runAttempt.js';

export type AttemptJob = Pick<JobContext, 'id' | 'data' | 'attempt'>;

/**
 * What happens around one attempt, written once for every job-queue adapter: the
 * stalled guard, the run with its timeout, the outcome decision (finished /
 * deferred / failed / canceled, by the one RetryPolicy) and the listener call that
 * must never break the queue. Adapters only store the outcome their own way.
 */
export class JobAttempts {
  constructor(
    readonly policy: RetryPolicy,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /**
   * Runs attempt `job.attempt`, or refuses it when only lost attempts (dead
   * workers) got it past the retry limit. Resolves with the error, null on success.
   */
  run(processor: JobProcessor, job: AttemptJob, signal: AbortSignal): Promise<unknown | null> {
    if (job.attempt > this.policy.maxAttempts) {
      return Promise.resolve(new PermanentJobError(ErrorCode.JOB_STALLED, `gave up after ${job.attempt - 1} attempts; the last worker holding the job died`));
    }
    return runAttempt(processor, { ...job, maxAttempts: this.policy.maxAttempts }, this.timeoutMs, signal);
  }

  /** How the attempt ended, given what `run` resolved with. */
  outcomeOf(attempt: number, err: unknown): JobOutcome {
    if (err === null) return { state: 'finished' };
    const error = describeJobError(err);
    if (err instanceof JobCanceledError) return { state: 'canceled', error };
    const decision = this.policy.decide(attempt, err);
    return decision.retry ? { state: 'deferred', error, retryInMs: decision.delayMs } : { state: 'failed', error };
  }

  /** Tells the listener; its failure is logged, never thrown into the queue's own bookkeeping. */
  async report(listener: OutcomeListener | undefined, job: AttemptJob, outcome: JobOutcome): Promise<void> {
    try {
      await listener?.(job, outcome);
    } catch (err) {
      this.log.error({ jobId: job.id, state: outcome.state, err: describeJobError(err) }, 'job outcome listener failed');
    }
  }
}
