import { ErrorCode } from '../../errors.js';
import { silentLogger, type Logger } from '../../observability/logger.js';
import { JobAttempts, type AttemptJob } from '../jobs/attempts.js';
import { describeJobError, JobCanceledError } from '../jobs/errors.js';
import {
  TERMINAL_STATES,
  type EnqueueResult,
  type IngestJobData,
  type JobInfo,
  type JobOutcome,
  type JobProcessor,
  type JobQueue,
  type JobQueueOptions,
  type JobState,
  type JobWorker,
  type WorkerOptions,
} from '../jobs/JobQueue.js';
import { RetryPolicy } from '../jobs/RetryPolicy.js';

interface Running {
  readonly worker: MemoryWorker;
  readonly controller: AbortController;
  /** Which attempt holds the job; a result from an older (abandoned) attempt is dropped. */
  readonly token: number;
}

interface Rec {
  readonly id: string;
  readonly data: IngestJobData;
  state: JobState;
  attempts: number;
  error: string | null;
  /** Retry delay, lease expiry or record expiry. */
  timer?: NodeJS.Timeout;
  running?: Running;
}

/** Graceful worker shutdown: the attempt is handed back, not counted. */
class ShutdownAbort extends Error {}

/**
 * The embedded job queue: one process, no persistence (the file records are the
 * source of truth; unfinished files are re-enqueued at the next start). Same
 * semantics as the Redis adapter, including lease expiry for abandoned jobs.
 */
export class MemoryJobQueue implements JobQueue {
  readonly kind = 'memory' as const;
  private readonly jobs = new Map<string, Rec>();
  private readonly waiting: string[] = [];
  private readonly workers: MemoryWorker[] = [];
  private readonly attempts: JobAttempts;
  private tokens = 0;
  private closed = false;

  constructor(readonly options: JobQueueOptions, log: Logger = silentLogger()) {
    this.attempts = new JobAttempts(new RetryPolicy(options.maxRetries, options.backoffBaseMs, options.backoffMaxMs), options.timeoutMs, log);
  }

  jobId(fileId: string): string {
    return `file-${fileId}`;
  }

  async enqueue(data: IngestJobData, options: { replaceTerminal?: boolean } = {}): Promise<EnqueueResult> {
    const id = this.jobId(data.fileId);
    const existing = this.jobs.get(id);
    if (existing && !(options.replaceTerminal && TERMINAL_STATES.has(existing.state))) return { id, created: false };
    if (existing) clearTimeout(existing.timer);
    this.jobs.set(id, { id, data: { fileId: data.fileId, userId: data.userId }, state: 'queued', attempts: 0, error: null });
    this.waiting.push(id);
    this.pump();
    return { id, created: true };
  }

  async get(jobId: string): Promise<JobInfo | null> {
    const rec = this.jobs.get(jobId);
    return rec ? { id: rec.id, data: rec.data, state: rec.state, attempts: rec.attempts, error: rec.error } : null;
  }

  async cancel(jobId: string): Promise<boolean> {
    const rec = this.jobs.get(jobId);
    if (!rec || TERMINAL_STATES.has(rec.state)) return false;
    if (rec.running) {
      rec.running.controller.abort(new JobCanceledError('canceled by request'));
      return true; // the worker settles it as canceled
    }
    const at = this.waiting.indexOf(jobId);
    if (at >= 0) this.waiting.splice(at, 1);
    this.settle(rec, 'canceled', describeJobError(new JobCanceledError('canceled by request')));
    return true;
  }

  process(processor: JobProcessor, options: WorkerOptions): JobWorker {
    const worker = new MemoryWorker(this, processor, options);
    this.workers.push(worker);
    this.pump();
    return worker;
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.close()));
    for (const rec of this.jobs.values()) clearTimeout(rec.timer);
  }

  /** Hands waiting jobs to workers with free capacity. */
  pump(): void {
    while (this.waiting.length > 0 && !this.closed) {
      const worker = this.workers.filter((w) => w.hasCapacity()).sort((a, b) => a.active - b.active)[0];
      if (!worker) return;
      const rec = this.jobs.get(this.waiting.shift()!);
      if (!rec || rec.state !== 'queued') continue;
      void this.run(worker, rec);
    }
  }

  private async run(worker: MemoryWorker, rec: Rec): Promise<void> {
    const attempt = rec.attempts + 1;
    rec.attempts = attempt;
    rec.state = 'started';
    const running: Running = { worker, controller: new AbortController(), token: ++this.tokens };
    rec.running = running;
    worker.active += 1;
    const job: AttemptJob = { id: rec.id, data: rec.data, attempt };
    const err = await this.attempts.run(worker.processor, job, running.controller.signal);
    worker.active -= 1;
    if (rec.running?.token !== running.token) {
      this.pump();
      return; // abandoned: the lease expiry decides this job's fate
    }
    rec.running = undefined;
    if (err instanceof ShutdownAbort) {
      rec.attempts -= 1;
      rec.state = 'queued';
      this.waiting.unshift(rec.id);
      return;
    }
    const outcome = this.attempts.outcomeOf(attempt, err);
    this.store(rec, outcome);
    await this.attempts.report(worker.onOutcome, job, outcome);
    this.pump();
  }

  /** Records the outcome: a terminal state, or a retry armed after its delay. */
  private store(rec: Rec, outcome: JobOutcome): void {
    if (outcome.state !== 'deferred') {
      this.settle(rec, outcome.state, outcome.state === 'finished' ? null : outcome.error);
      return;
    }
    rec.state = 'deferred';
    rec.error = outcome.error;
    rec.timer = setTimeout(() => {
      if (rec.state !== 'deferred') return;
      rec.state = 'queued';
      this.waiting.push(rec.id);
      this.pump();
    }, outcome.retryInMs);
    rec.timer.unref();
  }

  /** A terminal state; the record expires after the result / failure TTL. */
  private settle(rec: Rec, state: 'finished' | 'failed' | 'canceled', error: string | null): void {
    clearTimeout(rec.timer);
    rec.state = state;
    rec.error = error;
    const ttl = state === 'finished' ? this.options.resultTtlMs : this.options.failureTtlMs;
    rec.timer = setTimeout(() => {
      if (this.jobs.get(rec.id) === rec && rec.state === state) this.jobs.delete(rec.id);
    }, ttl);
    rec.timer.unref();
  }

  /** Worker crash: its jobs stay `started` until the lease expires, then go back to the queue (the attempt counts). */
  abandon(worker: MemoryWorker): void {
    for (const rec of this.jobs.values()) {
      if (rec.running?.worker !== worker) continue;
      const running = rec.running;
      rec.running = undefined;
      running.controller.abort(new ShutdownAbort('worker abandoned')); // in-process stand-in for the dead thread's work stopping
      rec.timer = setTimeout(() => {
        if (rec.state !== 'started' || rec.running) return;
        rec.state = 'queued';
        rec.error = `${ErrorCode.JOB_STALLED}: the worker holding the job stopped renewing its lease`;
        this.waiting.push(rec.id);
        this.pump();
      }, this.options.leaseMs);
      rec.timer.unref();
    }
  }

  /** Graceful worker close: running attempts are aborted and handed back uncounted. */
  release(worker: MemoryWorker): void {
    for (const rec of this.jobs.values()) {
      if (rec.running?.worker === worker) rec.running.controller.abort(new ShutdownAbort('worker closing'));
    }
  }
}

class MemoryWorker implements JobWorker {
  active = 0;
  private closing = false;

  constructor(
    private readonly queue: MemoryJobQueue,
    readonly processor: JobProcessor,
    private readonly options: WorkerOptions,
  ) {}

  get onOutcome(): WorkerOptions['onOutcome'] {
    return this.options.onOutcome;
  }

  hasCapacity(): boolean {
    return !this.closing && this.active < this.options.concurrency;
  }

  async close(options: { abandon?: boolean } = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (options.abandon) this.queue.abandon(this);
    else this.queue.release(this);
  }
}
