import type { TaskRecord, TaskRegistry } from '../coordination/ports.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { RetryLoop, type Backoff } from './backoff.js';
import { TaskQuotaError } from './errors.js';

/** A failed registry removal is retried this often (doubling) until it works or shutdown. */
const UNREGISTER_RETRY: Backoff = { minMs: 1_000, maxMs: 30_000 };
/** Re-registration after a reconnect: the bus can be back before the command connection. */
const REREGISTER_RETRY: Backoff = { minMs: 250, maxMs: 5_000 };
const REREGISTER_KEY = 'reregister';

export interface RegistrySyncOptions {
  /** Running tasks one owner may have, every instance together (config `tasks.maxPerUser`). */
  readonly maxPerOwner: number;
  /** Seconds a refused create is told to wait (`Retry-After`). */
  readonly quotaRetryAfterSec: number;
}

/**
 * Keeps the cluster-wide registry in step with the tasks this instance runs: admits
 * a new task (registry write plus the per-owner limit), removes a finished one
 * (retried until it lands, so no entry is left behind) and puts every running task
 * back after a reconnect (a Redis restarted without persistence comes back empty).
 */
export class RegistrySync {
  private readonly removals = new RetryLoop(UNREGISTER_RETRY);
  private readonly restores = new RetryLoop(REREGISTER_RETRY);

  constructor(
    private readonly registry: TaskRegistry,
    private readonly options: RegistrySyncOptions,
    private readonly log: Logger,
  ) {}

  /**
   * Registers the record unless its owner already runs `maxPerOwner` tasks across
   * instances (one atomic step in the registry: no check-then-act race between two
   * instances); refused, throws TaskQuotaError and nothing is written. `localIds` are
   * the owner's admitted tasks running here, counted even if the registry lost them.
   */
  async admit(record: TaskRecord, localIds: readonly string[]): Promise<void> {
    let admitted: boolean;
    try {
      admitted = await this.registry.addWithinLimit(record, this.options.maxPerOwner, localIds);
    } catch (err) {
      // A timed-out call may still have landed: the record must not outlive the failed create.
      await this.remove(record);
      throw err;
    }
    if (!admitted) throw new TaskQuotaError(this.options.maxPerOwner, this.options.quotaRetryAfterSec);
  }

  /** Removes the record; on failure keeps retrying with backoff so no entry is left behind. */
  async remove(record: TaskRecord): Promise<void> {
    this.removals.cancel(record.taskId);
    try {
      await this.registry.remove(record);
    } catch (err) {
      this.log.warn({ task: record.taskId, err: errorMessage(err), retryInMs: UNREGISTER_RETRY.minMs }, 'could not remove a finished task from the registry; retrying');
      this.removals.schedule(record.taskId, {
        attempt: () => this.registry.remove(record).then(() => true),
        onRetry: (e, delayMs) => this.log.warn({ task: record.taskId, err: errorMessage(e), retryInMs: delayMs }, 'could not remove a finished task from the registry; retrying'),
      });
    }
  }

  /** Removals still failing (exposed for tests and shutdown). */
  get pendingRemovals(): number {
    return this.removals.size;
  }

  /**
   * Puts every task still running here back in the registry, now and then with
   * backoff until one pass lands — one failed attempt must not leave our tasks
   * unstoppable. A task that ended while its write was in flight is removed again.
   */
  restore(running: () => readonly TaskRecord[], isRunning: (taskId: string) => boolean): void {
    if (running().length === 0) return;
    this.restores.schedule(
      REREGISTER_KEY,
      {
        attempt: async () => {
          let restored = 0;
          for (const record of running()) {
            await this.registry.add(record);
            if (!isRunning(record.taskId)) await this.registry.remove(record);
            else restored += 1;
          }
          this.log.info({ tasks: restored }, 'running tasks re-registered after the bus reconnected');
          return true;
        },
        onRetry: (err, delayMs) => this.log.warn({ err: errorMessage(err), retryInMs: delayMs }, 'could not re-register running tasks after a reconnect; retrying'),
      },
      true,
    );
  }

  /** Shutdown: one last try of every pending removal, then no more retries of any kind. */
  async close(): Promise<void> {
    this.restores.close();
    await this.removals.drain();
  }
}
