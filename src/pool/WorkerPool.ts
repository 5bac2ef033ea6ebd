import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { ErrorCode } from '../errors.js';
import { PermanentJobError, TransientJobError } from '../ingest/errors.js';
import type { Logger } from '../observability/logger.js';
import { isPoolFailure, type PoolReply, type PoolTask } from './messages.js';

export interface WorkerPoolOptions {
  /** Threads (THREAD_POOL_SIZE); 0 = one per core. */
  readonly size: number;
  /** Worker entry; tests pass small fixtures that wrap the real one. @default ./worker.js */
  readonly filename?: string;
  readonly log: Logger;
}

const DEFAULT_WORKER = new URL('./worker.js', import.meta.url).href;

/**
 * The Piscina pool for CPU work. A task aborted through its signal terminates its
 * thread (Piscina cannot interrupt running JS otherwise) and a fresh thread takes
 * its place; a thread that crashes fails its task with a transient error so the
 * job is retried. Expected failures come back typed (permanent or not).
 */
export class WorkerPool {
  readonly size: number;
  private readonly piscina: Piscina;
  private closed: Promise<void> | null = null;

  constructor(private readonly options: WorkerPoolOptions) {
    this.size = options.size > 0 ? options.size : availableParallelism();
    this.piscina = new Piscina({
      filename: options.filename ?? DEFAULT_WORKER,
      minThreads: this.size,
      maxThreads: this.size,
      idleTimeout: 60_000,
      // TF.js (local embeddings) allocates heavily: a larger young generation means fewer
      // scavenges, whose helper threads otherwise take CPU from the other pool threads.
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    });
    this.piscina.on('error', (err: unknown) => options.log.error({ err: String(err) }, 'pool thread error'));
    options.log.info({ threads: this.size }, 'worker pool ready');
  }

  async run<R>(task: PoolTask, signal?: AbortSignal): Promise<R> {
    let reply: PoolReply<R>;
    try {
      reply = (await this.piscina.run(task, { signal: signal ?? null })) as PoolReply<R>;
    } catch (err) {
      if (signal?.aborted) throw signal.reason; // the thread was terminated; the reason says why (timeout, cancel)
      this.options.log.warn({ task: task.kind, err: (err as Error).message }, 'pool task crashed its thread; the thread is replaced');
      throw new TransientJobError(ErrorCode.WORKER_CRASHED, `pool thread failed during ${task.kind}: ${(err as Error).message}`, { cause: err });
    }
    if (isPoolFailure(reply)) {
      const { code, message, permanent } = reply.failure;
      const Err = permanent ? PermanentJobError : TransientJobError;
      throw new Err(code as ErrorCode, message);
    }
    return reply;
  }

  /** Thread ids of the live threads (tests: a terminated thread is replaced). */
  threadIds(): number[] {
    return this.piscina.threads.map((t) => t.threadId);
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  close(): Promise<void> {
    this.closed ??= this.piscina.close({ force: true }).catch(() => {});
    return this.closed;
  }
}
