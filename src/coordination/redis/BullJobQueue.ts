import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ErrorCode, SwitchyardError, errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { settlesWithin } from '../../util/deadline.js';
import { JobAttempts } from '../jobs/attempts.js';
import { JobCanceledError } from '../jobs/errors.js';
import {
  TERMINAL_STATES,
  type EnqueueResult,
  type IngestJobData,
  type JobInfo,
  type JobProcessor,
  type JobQueue,
  type JobQueueOptions,
  type JobState,
  type JobWorker,
  type WorkerOptions,
} from '../jobs/JobQueue.js';
import { RetryPolicy } from '../jobs/RetryPolicy.js';
import type { MessageBus, Unsubscribe } from '../ports.js';
import { closeClient } from './connection.js';

/** Bound on each close step; past it the connections are cut. */
const CLOSE_TIMEOUT_MS = 2_000; // ms

export interface BullJobQueueDeps {
  /** The backend's command connection: BullMQ's Queue shares it (non-blocking commands only). */
  readonly redis: Redis;
  /**
   * Opens one named connection for a worker. BullMQ's Worker issues its own commands
   * on it and duplicates it for the blocking BZPOPMIN, so it must never time out.
   */
  readonly workerConnection: () => Redis;
  /** REDIS_KEY_PREFIX: BullMQ keys live under `<prefix>:bull:<queue>:…`. */
  readonly keyPrefix: string;
  readonly logger: Logger;
  /** Carries cancel commands to whichever instance runs the job. */
  readonly bus: MessageBus;
  /** @default 'ingest' */
  readonly queueName?: string;
}

/** Abort reasons given to BullMQ's per-job AbortController. */
const CANCEL_REASON = 'swy:cancel';
const SHUTDOWN_REASON = 'swy:shutdown';
const ABANDON_REASON = 'swy:abandon';
/** A failure reason starting with this marks a canceled job (BullMQ has no canceled state). */
const CANCELED_PREFIX = `${ErrorCode.JOB_CANCELED}:`;

/** Carries our retry delay to BullMQ's backoffStrategy, so both adapters share one policy. */
class RetryLater extends Error {
  constructor(message: string, readonly delayMs: number) {
    super(message);
  }
}

/**
 * Checks `maxmemory-policy`: with any eviction policy Redis may drop BullMQ's keys
 * under memory pressure and jobs vanish. Servers that refuse CONFIG (managed Redis)
 * get a warning instead.
 */
export async function checkNoEviction(redis: Redis, log: Logger): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'cannot read maxmemory-policy (CONFIG refused): make sure it is "noeviction", or jobs may be evicted');
    return;
  }
  if (policy !== undefined && policy !== 'noeviction') {
    throw new SwitchyardError(
      ErrorCode.QUEUE_MISCONFIGURED,
      `Redis maxmemory-policy is "${policy}"; the job queue needs "noeviction" (CONFIG SET maxmemory-policy noeviction) or queued jobs can be evicted`,
    );
  }
}

/**
 * The job queue on Redis, with BullMQ doing the atomic state moves, locks,
 * stalled-job detection, delays and TTL removal. What BullMQ lacks is added here:
 * a per-attempt timeout that aborts the work, one retry policy that also counts
 * attempts lost with a dead worker (`attemptsStarted`; BullMQ's own stalled limit
 * would fail the job outside the policy, so it is disabled), cancellation of a
 * running job from any instance (over the bus), and a `canceled` state.
 */
export class BullJobQueue implements JobQueue {
  readonly kind = 'redis' as const;
  readonly attempts: JobAttempts;
  private readonly workers = new Set<BullWorker>();
  /** Subscribed with the first worker: only an instance running jobs has any to cancel. */
  private listening: Promise<Unsubscribe> | null = null;
  private closed: Promise<void> | null = null;

  private constructor(
    readonly options: JobQueueOptions,
    readonly deps: BullJobQueueDeps,
    private readonly queue: Queue,
  ) {
    const policy = new RetryPolicy(options.maxRetries, options.backoffBaseMs, options.backoffMaxMs);
    this.attempts = new JobAttempts(policy, options.timeoutMs, deps.logger);
  }

  /** Refuses (QUEUE_MISCONFIGURED) a Redis that may evict keys. */
  static async create(options: JobQueueOptions, deps: BullJobQueueDeps): Promise<BullJobQueue> {
    await checkNoEviction(deps.redis, deps.logger);
    const queue = new Queue(deps.queueName ?? 'ingest', { connection: deps.redis, prefix: `${deps.keyPrefix}:bull` });
    queue.on('error', (err) => deps.logger.warn({ err: errorMessage(err) }, 'job queue error'));
    return new BullJobQueue(options, deps, queue);
  }

  get queueName(): string {
    return this.deps.queueName ?? 'ingest';
  }

  private get cancelTopic(): string {
    return `ingest:cancel`;
  }

  jobId(fileId: string): string {
    return `file-${fileId}`;
  }

  async enqueue(data: IngestJobData, options: { replaceTerminal?: boolean } = {}): Promise<EnqueueResult> {
    const id = this.jobId(data.fileId);
    const existing = await this.queue.getJob(id);
    if (existing) {
      const state = await this.stateOf(existing);
      if (!(options.replaceTerminal && state !== null && TERMINAL_STATES.has(state))) return { id, created: false };
      await existing.remove().catch(() => {}); // gone already (TTL) is fine
    }
    const job = await this.queue.add('ingest', { fileId: data.fileId, userId: data.userId }, {
      jobId: id,
      attempts: this.attempts.policy.maxAttempts,
      backoff: { type: 'swy' },
      removeOnComplete: { age: Math.ceil(this.options.resultTtlMs / 1000) },
      removeOnFail: { age: Math.ceil(this.options.failureTtlMs / 1000) },
    });
    // add() with an id in use returns that job instead of adding one, so a race
    // between instances still yields one job (`created` is then only best effort).
    return { id: job.id ?? id, created: true };
  }

  async get(jobId: string): Promise<JobInfo | null> {
    const job = await this.queue.getJob(jobId);
    if (!job) return null;
    const state = await this.stateOf(job);
    if (state === null) return null;
    return {
      id: jobId,
      data: job.data as IngestJobData,
      state,
      attempts: job.attemptsStarted,
      error: job.failedReason || null,
    };
  }

  async cancel(jobId: string): Promise<boolean> {
    const job = await this.queue.getJob(jobId);
    if (!job) return false;
    const state = await this.stateOf(job);
    if (state === null || TERMINAL_STATES.has(state)) return false;
    if (state !== 'started') {
      try {
        // Removing a waiting/delayed job is atomic; a job picked up meanwhile is locked and refuses.
        await job.remove();
        return true;
      } catch {
        // now running: fall through to the running-job path
      }
    }
    await this.deps.bus.publish(this.cancelTopic, jobId);
    return true;
  }

  process(processor: JobProcessor, options: WorkerOptions): JobWorker {
    this.listening ??= this.deps.bus.subscribe(this.cancelTopic, (jobId) => this.cancelLocal(jobId));
    const worker = new BullWorker(this, processor, options, this.listening);
    this.workers.add(worker);
    return worker;
  }

  async ping(): Promise<boolean> {
    const redis = this.deps.redis;
    if (redis.status !== 'ready') return false;
    try {
      return (await redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Stops the workers and the queue; the shared command connection stays the backend's. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.listening) await settlesWithin(this.listening.then((off) => off()), CLOSE_TIMEOUT_MS);
      await Promise.all([...this.workers].map((w) => w.close()));
      if (!(await settlesWithin(this.queue.close(), CLOSE_TIMEOUT_MS))) await settlesWithin(this.queue.disconnect(), CLOSE_TIMEOUT_MS);
    })();
    return this.closed;
  }

  forget(worker: BullWorker): void {
    this.workers.delete(worker);
  }

  private cancelLocal(jobId: string): void {
    for (const w of this.workers) w.cancel(jobId);
  }

  private async stateOf(job: Job): Promise<JobState | null> {
    const raw = await job.getState();
    switch (raw) {
      case 'active':
        return 'started';
      case 'delayed':
        return 'deferred';
      case 'completed':
        return 'finished';
      case 'failed':
        return job.failedReason?.startsWith(CANCELED_PREFIX) ? 'canceled' : 'failed';
      case 'unknown':
        return null;
      default:
        return 'queued'; // waiting, prioritized, waiting-children
    }
  }
}

class BullWorker implements JobWorker {
  private readonly worker: Worker;
  private readonly connection: Redis;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly queue: BullJobQueue,
    private readonly processor: JobProcessor,
    private readonly options: WorkerOptions,
    listening: Promise<unknown>,
  ) {
    const { deps, options: o, attempts } = queue;
    this.connection = deps.workerConnection();
    this.worker = new Worker(queue.queueName, (job, token, signal) => this.run(job, token, signal), {
      connection: this.connection,
      prefix: `${deps.keyPrefix}:bull`,
      concurrency: options.concurrency,
      lockDuration: o.leaseMs,
      stalledInterval: o.leaseMs,
      // Dead-worker recoveries are counted by our policy (attemptsStarted), not failed by BullMQ.
      maxStalledCount: 1_000_000,
      // Jobs are taken only once cancel commands can reach this worker.
      autorun: false,
      settings: { backoffStrategy: (_made, _type, err) => (err instanceof RetryLater ? err.delayMs : attempts.policy.delayMs(1)) },
    });
    this.worker.on('error', (err) => deps.logger.warn({ err: errorMessage(err) }, 'job worker error'));
    listening
      .then(() => (this.closing ? undefined : this.worker.run()))
      .catch((err: unknown) => deps.logger.warn({ err: errorMessage(err) }, 'job worker stopped'));
  }

  cancel(jobId: string): void {
    this.worker.cancelJob(jobId, CANCEL_REASON);
  }

  private async run(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const attempts = this.queue.attempts;
    const ctx = { id: job.id!, data: job.data as IngestJobData, attempt: job.attemptsStarted };
    let err = await attempts.run(this.processor, ctx, signal ?? new AbortController().signal);
    if (err === ABANDON_REASON) throw new Error('worker abandoned'); // nothing is reported: the lease decides
    if (err === CANCEL_REASON) err = new JobCanceledError('canceled by request');
    if (err === SHUTDOWN_REASON && token) {
      // Graceful stop: hand the job back at once instead of waiting for the lease to expire.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const outcome = attempts.outcomeOf(ctx.attempt, err);
    await attempts.report(this.options.onOutcome, ctx, outcome);
    // BullMQ stores the outcome when the processor returns or throws.
    switch (outcome.state) {
      case 'finished':
        return;
      case 'deferred':
        throw new RetryLater(outcome.error, outcome.retryInMs);
      default:
        throw new UnrecoverableError(outcome.error);
    }
  }

  close(options: { abandon?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      this.queue.forget(this);
      if (options.abandon) {
        // A crash: the connection drops first so nothing is committed or renewed; the
        // locks expire and another worker's stalled check recovers the jobs.
        this.connection.disconnect(false);
        this.worker.cancelAllJobs(ABANDON_REASON);
        await settlesWithin(this.worker.close(true), CLOSE_TIMEOUT_MS);
        return;
      }
      this.worker.cancelAllJobs(SHUTDOWN_REASON);
      // With Redis gone a graceful close never completes (and its connections keep
      // reconnecting, holding the process open): give it a bound, then cut the sockets.
      if (!(await settlesWithin(this.worker.close(), CLOSE_TIMEOUT_MS))) await settlesWithin(this.worker.disconnect(), CLOSE_TIMEOUT_MS);
      await closeClient(this.connection);
    })();
    return this.closing;
  }
}
