import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { withDeadline } from '../util/deadline.js';
import { isPoolFailure, type PoolEnvelope, type PoolReply } from './messages.js';
import { PoolTaskError, threadCrashed } from './PoolTaskError.js';

/** V8 limits of every pool thread (Node `resourceLimits`). */
export interface ThreadLimits {
  /** Old-generation heap per thread. @default 512 // MiB */
  readonly maxOldGenerationSizeMb: number;
  /** Young-generation heap per thread. @default 64 // MiB */
  readonly maxYoungGenerationSizeMb: number;
}

export const DEFAULT_THREAD_LIMITS: ThreadLimits = { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 64 };

export interface WorkerPoolOptions {
  /** Bulk threads (THREAD_POOL_SIZE); 0 = one per core. */
  readonly size: number;
  /** Threads of the interactive lane; 0 = interactive tasks share the bulk threads. @default 1 */
  readonly interactiveThreads?: number;
  /** @default DEFAULT_THREAD_LIMITS */
  readonly limits?: ThreadLimits;
  /** Worker entry; tests pass small fixtures that wrap the real one. @default ./worker.js */
  readonly filename?: string;
  readonly log: Logger;
}

/**
 * `bulk`: long CPU work (extraction, embedding batches) that may queue.
 * `interactive`: short work someone is waiting on (a document load's merge), on its own
 * threads so it never queues behind a bulk task: Piscina cannot preempt a running task,
 * so a priority queue alone would still wait up to a whole extraction.
 */
export type Lane = 'bulk' | 'interactive';

export interface PoolRunOptions {
  /** @default 'bulk' */
  readonly lane?: Lane;
  /** Aborting it terminates the thread running the task; the run rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** The task's own budget: past it the thread is terminated and the run fails permanently (POOL_TASK_TIMEOUT). */
  readonly deadlineMs?: number;
  /** Names the task in errors and logs. @default the module's file name */
  readonly what?: string;
}

/** A CommonJS entry in front of worker.ts (see workerEntry.cts: Piscina require()s its filename). */
const DEFAULT_WORKER = new URL('./workerEntry.cjs', import.meta.url).href;

/**
 * The Piscina pools for CPU work, one per lane. A task aborted through its signal
 * or its deadline terminates its thread (Piscina cannot interrupt running JS
 * otherwise) and a fresh thread takes its place. Every thread has V8 memory
 * limits: a task that exhausts them (a decompression bomb) ends that thread only —
 * without limits V8's "Reached heap limit" aborts the whole process. Failures come
 * back as {@link PoolTaskError}s; the pool knows nothing of the tasks it runs.
 */
export class WorkerPool {
  /** Bulk threads. */
  readonly size: number;
  readonly limits: ThreadLimits;
  private readonly bulk: Piscina;
  private readonly interactive: Piscina | null;
  /** Aborting these terminates the running tasks' threads: Piscina's close waits for running tasks, even a spinning one. */
  private readonly running = new Set<AbortController>();
  private closed: Promise<void> | null = null;

  constructor(private readonly options: WorkerPoolOptions) {
    this.size = options.size > 0 ? options.size : availableParallelism();
    this.limits = options.limits ?? DEFAULT_THREAD_LIMITS;
    const interactiveThreads = options.interactiveThreads ?? 1;
    this.bulk = this.piscina(this.size);
    this.interactive = interactiveThreads > 0 ? this.piscina(interactiveThreads) : null;
    options.log.info({ threads: this.size, interactiveThreads, ...this.limits }, 'worker pool ready');
  }

  /** Runs the default export of the task module `handler` (a file URL) on `payload` in a thread. */
  async run<R>(handler: string, payload: unknown, options: PoolRunOptions = {}): Promise<R> {
    const lane = options.lane === 'interactive' && this.interactive ? this.interactive : this.bulk;
    const what = options.what ?? handler.slice(handler.lastIndexOf('/') + 1);
    const deadline = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
    const envelope: PoolEnvelope = { handler, payload };
    let reply: PoolReply<R>;
    this.running.add(deadline);
    try {
      reply = (await withDeadline(lane.run(envelope, { signal }), options.deadlineMs ?? Infinity, () => {
        const err = new PoolTaskError(ErrorCode.POOL_TASK_TIMEOUT, `${what} did not finish within ${options.deadlineMs} ms; its thread was terminated`, {
          permanent: true,
        });
        deadline.abort(err); // terminates the thread
        return err;
      })) as PoolReply<R>;
    } catch (err) {
      if (err instanceof PoolTaskError) throw err; // the deadline
      if (options.signal?.aborted) throw options.signal.reason; // the thread was terminated; the reason says why (timeout, cancel)
      if ((err as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.options.log.warn({ task: what, ...this.limits }, 'pool task exceeded its thread memory limit; the thread is replaced');
        throw new PoolTaskError(
          ErrorCode.WORKER_OUT_OF_MEMORY,
          `${what} exceeded the pool thread memory limit (${this.limits.maxOldGenerationSizeMb} MiB old generation); the thread was replaced`,
          { permanent: true, cause: err },
        );
      }
      if (deadline.signal.aborted) throw deadline.signal.reason; // closed under it
      this.options.log.warn({ task: what, err: (err as Error).message }, 'pool task crashed its thread; the thread is replaced');
      throw threadCrashed(what, err);
    } finally {
      this.running.delete(deadline);
    }
    if (isPoolFailure(reply)) {
      const { code, message, permanent } = reply.failure;
      throw new PoolTaskError(code as ErrorCode, message, { permanent });
    }
    return reply;
  }

  /** Thread ids of the live bulk threads (tests: a terminated thread is replaced). */
  threadIds(): number[] {
    return this.bulk.threads.map((t) => t.threadId);
  }

  /** Thread ids of the interactive lane (empty when it shares the bulk threads). */
  interactiveThreadIds(): number[] {
    return this.interactive?.threads.map((t) => t.threadId) ?? [];
  }

  /** Bulk tasks waiting for a thread. */
  get queueSize(): number {
    return this.bulk.queueSize;
  }

  close(): Promise<void> {
    const stopped = new PoolTaskError(ErrorCode.SHUTTING_DOWN, 'the worker pool is closing', { permanent: false });
    for (const controller of this.running) controller.abort(stopped);
    this.closed ??= Promise.all([this.bulk, this.interactive].map((p) => p?.close({ force: true }).catch(() => {}))).then(() => {});
    return this.closed;
  }

  private piscina(threads: number): Piscina {
    const piscina = new Piscina({
      filename: this.options.filename ?? DEFAULT_WORKER,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      // The young generation stays large: TF.js (local embeddings) allocates heavily, and fewer
      // scavenges mean their helper threads take less CPU from the other pool threads.
      resourceLimits: { ...this.limits },
    });
    piscina.on('error', (err: unknown) => this.options.log.error({ err: String(err) }, 'pool thread error'));
    return piscina;
  }
}
