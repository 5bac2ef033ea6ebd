/**
 * The ingestion job queue port. A coordination backend provides it: `memory/MemoryJobQueue`
 * (one process, the embedded default) and `redis/BullJobQueue` (Redis, many instances);
 * both pass test/ingest.queue.contract.ts.
 *
 * One job per file: the job id is derived from the file id, so enqueueing a file
 * twice is a no-op. A job names the file and the user; it never carries secrets
 * (an embedding API key is resolved when the job runs).
 */

export type JobState = 'queued' | 'started' | 'finished' | 'failed' | 'deferred' | 'canceled';

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['finished', 'failed', 'canceled']);

export interface IngestJobData {
  readonly fileId: string;
  readonly userId: string;
}

export interface JobInfo {
  readonly id: string;
  readonly data: IngestJobData;
  readonly state: JobState;
  /** Attempts started so far, including ones lost with a dead worker. */
  readonly attempts: number;
  /** `CODE: message` of the last failure, null when none. */
  readonly error: string | null;
}

/** What the processor sees for one attempt. */
export interface JobContext {
  readonly id: string;
  readonly data: IngestJobData;
  /** 1-based; counts attempts lost with a dead worker. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Aborted on timeout (JobTimeoutError), cancel (JobCanceledError) or worker shutdown. */
  readonly signal: AbortSignal;
}

export type JobProcessor = (job: JobContext) => Promise<void>;

/** How an attempt ended, reported on the instance that ran it (it mirrors the state into the file record). */
export type JobOutcome =
  | { readonly state: 'finished' }
  | { readonly state: 'deferred'; readonly error: string; readonly retryInMs: number }
  | { readonly state: 'failed'; readonly error: string }
  | { readonly state: 'canceled'; readonly error: string };

export type OutcomeListener = (job: Pick<JobContext, 'id' | 'data' | 'attempt'>, outcome: JobOutcome) => void | Promise<void>;

export interface WorkerOptions {
  /** Jobs this worker runs at once. */
  readonly concurrency: number;
  readonly onOutcome?: OutcomeListener;
}

export interface JobWorker {
  /**
   * Stops taking jobs. Graceful: aborts running attempts (they are retried later,
   * by this or another instance). `abandon` simulates a crash: running jobs stay
   * held until their lease expires and another worker recovers them.
   */
  close(options?: { abandon?: boolean }): Promise<void>;
}

export interface EnqueueResult {
  readonly id: string;
  /** False when a job for this file already existed (the enqueue was a no-op). */
  readonly created: boolean;
}

export interface JobQueue {
  readonly kind: 'memory' | 'redis';
  /** The job id of a file: `file-<fileId>`. */
  jobId(fileId: string): string;
  /**
   * Adds the file's job unless one exists. With `replaceTerminal`, a finished /
   * failed / canceled record is replaced by a fresh job (re-enqueue of a file whose
   * record says it still needs work).
   */
  enqueue(data: IngestJobData, options?: { replaceTerminal?: boolean }): Promise<EnqueueResult>;
  get(jobId: string): Promise<JobInfo | null>;
  /**
   * Cancels the job wherever it is: a waiting or deferred job is removed, a running
   * one is aborted on whichever instance runs it. False when there was nothing to cancel.
   */
  cancel(jobId: string): Promise<boolean>;
  /** Starts consuming jobs with `processor`. */
  process(processor: JobProcessor, options: WorkerOptions): JobWorker;
  /** True when the backend answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface JobQueueOptions {
  /** Retries after the first attempt (JOB_MAX_RETRIES). @default 3 */
  readonly maxRetries: number;
  /** First retry delay; doubles per attempt. @default 1_000 // ms */
  readonly backoffBaseMs: number;
  /** Longest retry delay (also caps Retry-After). @default 30_000 // ms */
  readonly backoffMaxMs: number;
  /** One attempt's limit (JOB_TIMEOUT); on expiry its pool work is aborted. @default 600_000 // ms */
  readonly timeoutMs: number;
  /** How long a finished job's record is kept (JOB_RESULT_TTL). @default 3_600_000 // ms */
  readonly resultTtlMs: number;
  /** How long a failed / canceled job's record is kept (JOB_FAILURE_TTL). @default 86_400_000 // ms */
  readonly failureTtlMs: number;
  /** A running job's lease: a worker silent this long is dead and its job is recovered. @default 30_000 // ms */
  readonly leaseMs: number;
}

/** The queue settings when a backend is built without any (the config defaults). */
export const DEFAULT_JOB_QUEUE_OPTIONS: JobQueueOptions = Object.freeze({
  maxRetries: 3,
  backoffBaseMs: 1_000,
  backoffMaxMs: 30_000,
  timeoutMs: 600_000,
  resultTtlMs: 3_600_000,
  failureTtlMs: 86_400_000,
  leaseMs: 30_000,
});
